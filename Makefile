# Bursar's developer commands. `make test` is what CI runs.
GO ?= go

.PHONY: run test test-sqlite lint bench ci build

run:
	$(GO) run ./cmd/bursar serve

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/bursar ./cmd/bursar

# Every package on both stores: PostgreSQL tests start a throw-away cluster
# from the system's binaries (or use BURSAR_TEST_DATABASE_URL).
test:
	$(GO) test -race -count=1 -timeout 20m ./...

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench:
	$(GO) run ./cmd/bursar bench --out docs/benchmarks.md

ci:
	bash .ci/run
