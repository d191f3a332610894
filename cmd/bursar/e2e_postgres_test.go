package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"bursar/internal/store/pgtest"
)

// Three `bursar serve` processes share one PostgreSQL; 16 clients finalize
// 500 invoices spread over them; the numbers are exactly 1..500.
func TestFinalizeFromThreeProcessesGapFree(t *testing.T) {
	url := pgtest.URL(t)
	// The replicas share one data directory: the audit log's keys.
	dir := t.TempDir()
	key, _ := bursar(t, "admin", "init", "--database-url", url, "--data-dir", dir, "--org", "Acme", "--email", "o@example.com")
	key = strings.TrimSpace(key)
	var procs []*proc
	for range 3 {
		// Sixteen clients on one address hammer the three servers on
		// purpose: rate limits would refuse them.
		procs = append(procs, startServe(t, "--database-url", url, "--data-dir", dir, "--rate-limits=false"))
	}
	c := client{t, procs[0].base + "/v1", key}
	cus := c.do("POST", "/customers", map[string]any{"name": "Buyer"}, 201)
	const n = 500
	ids := make([]string, n)
	for i := range ids {
		inv := c.do("POST", "/invoices", map[string]any{"customer_id": cus["id"],
			"lines": []any{map[string]any{"description": "x", "quantity": "1", "unit_price": "1.00"}}}, 201)
		ids[i] = inv["id"].(string)
	}
	work := make(chan int)
	var mu sync.Mutex
	var numbers []string
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := client{t, procs[g%3].base + "/v1", key}
			for i := range work {
				inv := cl.do("POST", "/invoices/"+ids[i]+"/finalize", nil, 200)
				mu.Lock()
				numbers = append(numbers, inv["number"].(string))
				mu.Unlock()
			}
		}()
	}
	for i := range ids {
		work <- i
	}
	close(work)
	wg.Wait()
	sort.Strings(numbers) // zero-padded, so text order is number order
	if len(numbers) != n {
		t.Fatalf("finalized %d, want %d", len(numbers), n)
	}
	for i, got := range numbers {
		if !strings.HasSuffix(got, fmt.Sprintf("-%05d", i+1)) {
			t.Fatalf("numbers sorted[%d] = %s, want sequence %d: a gap or a duplicate", i, got, i+1)
		}
	}
	for _, p := range procs {
		if err := p.stop(t); err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	}
	// The three replicas appended to one audit tree at once: its entries
	// have every index once, and their checkpoints agree.
	if out, _ := bursar(t, "audit", "verify", "--database-url", url, "--data-dir", dir); !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify: %s", out)
	}
}
