# Bursar's developer commands. `make test` is what CI runs.
GO ?= go
BIN ?= bin/bursar

.PHONY: run test test-sqlite lint tools bench ci build

run:
	$(GO) run ./cmd/bursar serve

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/bursar

# Every package on both stores: PostgreSQL tests start a throw-away cluster
# from the system's binaries (or use BURSAR_TEST_DATABASE_URL).
test:
	$(GO) test -race -count=1 -timeout 20m ./...

# gofmt, go vet, staticcheck and gosec at CI's pinned versions (installed
# into .ci/out/bin on first use).
lint:
	bash .ci/run lint

tools:
	bash .ci/run tools

bench:
	$(GO) run ./cmd/bursar bench --out docs/benchmarks.md

ci:
	bash .ci/run
