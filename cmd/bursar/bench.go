package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"bursar/internal/auth"
	"bursar/internal/guard"
	"bursar/internal/ident"
	"bursar/internal/org"
	"bursar/internal/server"
	"bursar/internal/store/sqlstore"
)

// benchResult is one measured rate and its baseline.
type benchResult struct {
	store, name, baselineName string
	rate, baseline            float64
	target                    float64 // minimum rate/baseline
	// The median and 99th percentile latency of one operation, and of one
	// of the baseline's.
	p50, p99, baseP50, baseP99 time.Duration
	// The CPU one operation cost, and one of the baseline's.
	cpu, baseCPU cpuPerOp
}

func runBench(ctx context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "bench", "bench [flags]")
	out := fs.String("out", "", "write the report (Markdown) to this file; empty prints it")
	duration := fs.Duration("duration", 10*time.Second, "how long each measurement runs")
	clients := fs.Int("clients", 8, "concurrent clients")
	smoke := fs.Bool("smoke", false, "a short run that checks the benchmark works (for CI); no targets enforced")
	pgURL := fs.String("bench-database-url", "", "PostgreSQL URL to benchmark; empty starts a throw-away cluster from the system's binaries")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	blockProfile := fs.String("blockprofile", "", "write a profile of where goroutines waited (channels, locks, I/O excluded) to this file")
	only := fs.String("store", "", "benchmark only this store: sqlite or postgres; empty runs both")
	if err := parse(io, fs, args); err != nil {
		return err
	}
	if *smoke {
		*duration = time.Second
	}
	if *clients < 1 || *duration <= 0 {
		return usagef("--clients and --duration must be positive")
	}
	if *only != "" && *only != "sqlite" && *only != "postgres" {
		return usagef("--store must be sqlite or postgres")
	}
	var results []benchResult
	var durabilities []string
	dir, err := os.MkdirTemp("", "bursar-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stores := []struct {
		key, name string
		open      func() (*sqlstore.Store, func(), error)
	}{
		{"sqlite", "SQLite", func() (*sqlstore.Store, func(), error) {
			st, err := openStore(ctx, storeFlags{dataDir: dir})
			return st, func() {}, err
		}},
		{"postgres", "PostgreSQL", func() (*sqlstore.Store, func(), error) { return openBenchPostgres(ctx, *pgURL) }},
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *blockProfile != "" {
		runtime.SetBlockProfileRate(int(time.Microsecond))
		defer func() {
			if f, err := os.Create(*blockProfile); err == nil {
				_ = pprof.Lookup("block").WriteTo(f, 0)
				_ = f.Close()
			}
		}()
	}
	for _, s := range stores {
		if *only != "" && *only != s.key {
			continue
		}
		st, cleanup, err := s.open()
		if err != nil {
			return fmt.Errorf("bench: open %s: %w", s.name, err)
		}
		fmt.Fprintf(io.stderr, "bench: %s ...\n", s.name)
		dur, err := durability(ctx, st.DB(), s.key == "postgres")
		if err != nil {
			return errors.Join(fmt.Errorf("bench: %s: durability: %w", s.name, err), st.Close())
		}
		durabilities = append(durabilities, s.name+" "+dur)
		r, err := benchStore(ctx, s.name, st, *clients, *duration)
		err = errors.Join(err, st.Close())
		cleanup()
		if err != nil {
			return fmt.Errorf("bench: %s: %w", s.name, err)
		}
		results = append(results, r...)
	}
	report := benchReport(results, durabilities, *clients, *duration)
	if *out == "" {
		fmt.Fprint(io.stdout, report)
	} else if err := os.WriteFile(*out, []byte(report), 0o644); err != nil { // #nosec G306 -- a public report
		return err
	}
	if !*smoke {
		for _, r := range results {
			if r.rate/r.baseline < r.target {
				fmt.Fprintf(io.stderr, "bench: %s %s at %.0f%% of its baseline, below the %.0f%% target\n", r.store, r.name, 100*r.rate/r.baseline, 100*r.target)
			}
		}
	}
	return nil
}

// measure runs op from n goroutines for d and returns the latency of each
// operation done.
func measure(d time.Duration, n int, op func(worker int) error) ([]time.Duration, error) {
	var firstErr error
	var once sync.Once
	lat := make([][]time.Duration, n)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t := time.Now()
				if !t.Before(deadline) {
					return
				}
				if err := op(w); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return all, firstErr
}

// pairResult is what measurePair finds for an operation and its baseline.
type pairResult struct {
	rate, base           float64
	p50, p99, bp50, bp99 time.Duration
	cpu, bcpu            cpuPerOp
}

// measurePair measures op and its baseline in alternating slices of about
// half a second each, so that both see the same machine: on a shared
// machine whose load changes by the minute, measuring one after the other
// would compare two different machines. Each gets d in all.
func measurePair(d time.Duration, n int, op, baseline func(worker int) error) (pairResult, error) {
	rounds := max(1, int(d/(500*time.Millisecond)))
	slice := d / time.Duration(rounds)
	type side struct {
		f     func(int) error
		spent time.Duration
		lat   []time.Duration
		cpu   cpuPerOp
	}
	a, b := &side{f: op}, &side{f: baseline}
	run := func(s *side) error {
		start, before := time.Now(), readCPU()
		lat, err := measure(slice, n, s.f)
		s.cpu.add(before, readCPU())
		s.spent += time.Since(start)
		s.lat = append(s.lat, lat...) // one latency per operation done
		return err
	}
	for i := range rounds {
		// Alternate which goes first, so that neither always follows
		// the other's garbage collection or cache warm-up.
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		if err := run(first); err != nil {
			return pairResult{}, err
		}
		if err := run(second); err != nil {
			return pairResult{}, err
		}
	}
	res := pairResult{rate: float64(len(a.lat)) / a.spent.Seconds(), base: float64(len(b.lat)) / b.spent.Seconds(),
		cpu: a.cpu.per(len(a.lat)), bcpu: b.cpu.per(len(b.lat))}
	res.p50, res.p99 = percentiles(a.lat)
	res.bp50, res.bp99 = percentiles(b.lat)
	return res, nil
}

// percentiles returns the median and the 99th percentile of lat.
func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
}

// result makes the benchResult of a pair.
func (p pairResult) result(store, name, baselineName string, target float64) benchResult {
	return benchResult{store: store, name: name, baselineName: baselineName, rate: p.rate, baseline: p.base, target: target,
		p50: p.p50, p99: p.p99, baseP50: p.bp50, baseP99: p.bp99, cpu: p.cpu, baseCPU: p.bcpu}
}

func benchStore(ctx context.Context, name string, st *sqlstore.Store, clients int, d time.Duration) ([]benchResult, error) {
	now := time.Now()
	o, err := org.New(org.Input{Name: "Bench " + name, DefaultCurrency: "EUR"}, now)
	if err != nil {
		return nil, err
	}
	if err := st.InsertOrganization(ctx, o); err != nil {
		return nil, err
	}
	_, key, err := (&auth.Service{Store: st, Now: time.Now}).CreateAPIKey(ctx, o.ID, "bench", []string{auth.FullAccess}, nil)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The core's rows measure the server without its guard (no WAF, no
	// rate limits); the guard's own rows measure what it adds.
	srv := httptest.NewServer(server.New(server.Config{WAF: guard.WAFOff, Guard: server.GuardConfig{DisableRateLimits: true}}, st, log, time.Now).Handler())
	defer srv.Close()
	unlimited := guard.Limit{Requests: 1 << 30, Period: time.Second, Burst: 1 << 30}
	huge := guard.Budget{Address: unlimited, Key: unlimited, Org: unlimited, Account: unlimited}
	guarded := httptest.NewServer(server.New(server.Config{WAF: guard.WAFOn, WAFParanoia: 1,
		Guard: server.GuardConfig{RateLimits: &guard.Limits{SignIn: huge, API: huge, Events: huge}}}, st, log, time.Now).Handler())
	defer guarded.Close()
	// The same guard with the WAF's verdict cache off: every request is
	// inspected by the whole rule set, as a request the WAF has not seen
	// before is.
	uncached := httptest.NewServer(server.New(server.Config{WAF: guard.WAFOn, WAFParanoia: 1, WAFVerdictCache: -1,
		Guard: server.GuardConfig{RateLimits: &guard.Limits{SignIn: huge, API: huge, Events: huge}}}, st, log, time.Now).Handler())
	defer uncached.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}}
	// call sends a request and returns the id of the object answered. It
	// decodes nothing else, as a client that needs only the id would, so
	// that the client's work on the shared CPUs stays small beside the
	// server's; the GETs below discard their bodies for the same reason.
	call := func(method, path string, body []byte, want int) (string, error) {
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			return "", fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, raw)
		}
		var obj struct {
			ID string `json:"id"`
		}
		return obj.ID, json.Unmarshal(raw, &obj)
	}
	cus, err := call("POST", "/v1/customers", []byte(`{"name":"Bench Buyer","currency":"EUR"}`), 201)
	if err != nil {
		return nil, err
	}
	tax, err := call("POST", "/v1/tax-rates", []byte(`{"name":"VAT","percentage":"19","category":"S"}`), 201)
	if err != nil {
		return nil, err
	}
	var lines []string
	for i := range 5 {
		lines = append(lines, fmt.Sprintf(`{"description":"Item %d","quantity":"%d","unit_price":"12.34","tax_rate_ids":[%q]}`, i, i+1, tax))
	}
	invBody := []byte(fmt.Sprintf(`{"customer_id":%q,"lines":[%s]}`, cus, strings.Join(lines, ",")))

	sample, err := call("POST", "/v1/invoices", invBody, 201)
	if err != nil {
		return nil, err
	}
	bl, err := captureBaseline(ctx, st, name == "PostgreSQL", o.ID, sample)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	cf, err := measurePair(d, clients, func(int) error {
		inv, err := call("POST", "/v1/invoices", invBody, 201)
		if err != nil {
			return err
		}
		_, err = call("POST", "/v1/invoices/"+inv+"/finalize", nil, 200)
		return err
	}, func(int) error {
		return bl.createFinalize(ctx, o.ID, cus, ident.New("inv", time.Now()))
	})
	if err != nil {
		return nil, err
	}
	one, err := call("POST", "/v1/invoices", invBody, 201)
	if err != nil {
		return nil, err
	}
	getPath := "/v1/invoices/" + one
	fixed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"inv_fixed","status":"open","totals":{"due":"73.43"}}`))
	}))
	defer fixed.Close()
	// The client reads and discards the body, exactly as the baseline's
	// client does, so that only the servers differ.
	get := func(base string) func(int) error {
		return func(int) error {
			req, err := http.NewRequestWithContext(ctx, "GET", base+getPath, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			// The body was read to the end; a close error cannot change the result.
			_ = resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("GET %s: status %d", getPath, resp.StatusCode)
			}
			return nil
		}
	}
	fixedGet := func(int) error {
		resp, err := hc.Get(fixed.URL)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	getPair, err := measurePair(d, clients, get(srv.URL), fixedGet)
	if err != nil {
		return nil, err
	}
	// The guard's cost: the same GET through the guard (the WAF with the
	// Core Rule Set at paranoia 1, address rules, rate limits with budgets
	// too large to refuse the bench) against the core server above.
	guardedPair, err := measurePair(d, clients, get(guarded.URL), get(srv.URL))
	if err != nil {
		return nil, err
	}
	uncachedPair, err := measurePair(d, clients, get(uncached.URL), get(srv.URL))
	if err != nil {
		return nil, err
	}
	return []benchResult{
		cf.result(name, "create a 5-line invoice and finalize it", "the same rows (invoice, number, audit entries and hashes) by plain SQL transactions", 0.60),
		getPair.result(name, "GET one invoice", "a minimal net/http handler with a fixed JSON body", 0.35),
		guardedPair.result(name, "GET one invoice through the guard", "the same GET without the guard", 0.60),
		uncachedPair.result(name, "GET one invoice through the guard, WAF verdict cache off (every request inspected)", "the same GET without the guard", 0),
	}, nil
}

func benchReport(rs []benchResult, durabilities []string, clients int, d time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `make bench` (`go run ./cmd/bursar bench --out docs/benchmarks.md`) on %s.\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s/%s, %s. Each rate is measured for %s with %d concurrent clients over loopback HTTP, in one process, alternating with its baseline in half-second slices so that both see the same machine; the ratio is what counts, because the machines are shared and noisy.\n\n",
		cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), d, clients)
	fmt.Fprintf(&b, "Durability, as each database reports it (a commit that does not wait for the disk is not what a 2xx promises): %s.\n\n", strings.Join(durabilities, "; "))
	b.WriteString("CPU per operation is this process's CPU time (server and clients) and the whole machine's busy time (PostgreSQL's processes too), each divided by the operations done; where the machine's figure times the rate is well below the CPUs there are, the rate was limited by waiting, not by CPU.\n\n")
	b.WriteString("What limits each number, and what was tried, is in [performance.md](performance.md).\n\n")
	b.WriteString("| store | measure | per second | p50 / p99 | CPU per op: process / machine | baseline | baseline per second | baseline p50 / p99 | baseline CPU per op | ratio | target | met |\n|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rs {
		ratio := r.rate / r.baseline
		met := "yes"
		if ratio < r.target {
			met = "**no**"
		}
		target := fmt.Sprintf("%.0f%%", 100*r.target)
		if r.target == 0 {
			target, met = "-", "(measured only)"
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s / %s | %s | %s | %.0f | %s / %s | %s | %.0f%% | %s | %s |\n", r.store, r.name, r.rate, ms(r.p50), ms(r.p99), r.cpu,
			r.baselineName, r.baseline, ms(r.baseP50), ms(r.baseP99), r.baseCPU, 100*ratio, target, met)
	}
	return b.String()
}

// ms formats a latency in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
