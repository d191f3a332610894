package invoice_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"bursar/internal/customer"
	"bursar/internal/invoice"
	"bursar/internal/org"
	"bursar/internal/store/pgtest"
	"bursar/internal/store/postgres"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is an organization with one EUR customer on a store.
type fixture struct {
	svc   *invoice.Service
	st    *sqlstore.Store
	orgID string
	cusID string
}

func newFixture(t *testing.T, st *sqlstore.Store) fixture {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	o, err := org.New(org.Input{Name: "Acme", DefaultCurrency: "EUR", InvoiceSeries: "INV-{SEQ}"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InsertOrganization(ctx, o); err != nil {
		t.Fatal(err)
	}
	cs := &customer.Service{Store: st, Now: time.Now}
	cus, err := cs.Create(ctx, o.ID, "EUR", customer.Input{Name: "Buyer"})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{svc: &invoice.Service{Store: st, Now: time.Now}, st: st, orgID: o.ID, cusID: cus.ID}
}

func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir()+"/bursar.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// finalizeConcurrently creates n drafts and finalizes them from g
// goroutines, returning the numbers assigned.
func finalizeConcurrently(t *testing.T, st *sqlstore.Store, n, g int) []string {
	t.Helper()
	ctx := context.Background()
	fx := newFixture(t, st)
	svc := fx.svc
	ids := make([]string, n)
	for i := range ids {
		inv, err := svc.Create(ctx, fx.orgID, invoice.Input{CustomerID: fx.cusID, Lines: []invoice.LineInput{{Description: "x", Quantity: "1", UnitPrice: "10.00"}}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = inv.ID
	}
	work := make(chan string)
	var mu sync.Mutex
	var numbers []string
	var wg sync.WaitGroup
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				inv, err := svc.Finalize(ctx, fx.orgID, id)
				if err != nil {
					t.Errorf("finalize %s: %v", id, err)
					continue
				}
				mu.Lock()
				numbers = append(numbers, inv.Number)
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	return numbers
}

// checkGapFree proves the numbers are exactly INV-1..INV-n.
func checkGapFree(t *testing.T, numbers []string, n int) {
	t.Helper()
	if len(numbers) != n {
		t.Fatalf("finalized %d invoices, want %d", len(numbers), n)
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("INV-%d", i+1)
	}
	got := append([]string(nil), numbers...)
	sort.Slice(got, func(i, j int) bool {
		return len(got[i]) < len(got[j]) || (len(got[i]) == len(got[j]) && got[i] < got[j])
	})
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("numbers sorted[%d] = %s, want %s: a gap or a duplicate", i, got[i], want[i])
		}
	}
}

func TestFinalizeConcurrentlyGapFreeSQLite(t *testing.T) {
	checkGapFree(t, finalizeConcurrently(t, openSQLite(t), 500, 16), 500)
}

func TestFinalizeConcurrentlyGapFreePostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkGapFree(t, finalizeConcurrently(t, st, 500, 16), 500)
}
