package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"bursar/internal/errs"
	"bursar/internal/store/sqlstore"
)

var errRollback = errors.New("roll back")

func testNextNumber(t *testing.T, st *sqlstore.Store) {
	o, o2 := newOrg(t, st), newOrg(t, st)
	next := func(ctx context.Context, orgID, series string) int64 {
		t.Helper()
		n, err := st.NextNumber(ctx, orgID, series)
		must(t, err)
		return n
	}
	for i := int64(1); i <= 3; i++ {
		if got := next(ctx, o.ID, "invoice:INV-2026-"); got != i {
			t.Fatalf("number %d of the series = %d", i, got)
		}
	}
	if got := next(ctx, o.ID, "invoice:INV-2027-"); got != 1 {
		t.Fatalf("a new series starts at %d, want 1", got)
	}
	if got := next(ctx, o.ID, "credit_note:CN-2026-"); got != 1 {
		t.Fatalf("another series starts at %d, want 1", got)
	}
	if got := next(ctx, o2.ID, "invoice:INV-2026-"); got != 1 {
		t.Fatalf("the same series of another organization starts at %d, want 1", got)
	}
	// A rolled-back transaction gives its number back: no gap.
	err := st.InTx(ctx, func(ctx context.Context) error {
		if got := next(ctx, o.ID, "invoice:INV-2026-"); got != 4 {
			t.Errorf("number in transaction = %d, want 4", got)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want the error of fn", err)
	}
	if got := next(ctx, o.ID, "invoice:INV-2026-"); got != 4 {
		t.Fatalf("number after a rollback = %d, want 4 again", got)
	}
}

func testInTxRollback(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	var inserted string
	err := st.InTx(ctx, func(ctx context.Context) error {
		d := draft(o, c)
		must(t, st.InsertInvoice(ctx, d))
		inserted = d.ID
		must(t, st.AddCustomerCredit(ctx, o.ID, c.ID, 1000))
		// The transaction sees its own writes; the rest of the world does not.
		if _, err := st.GetInvoice(ctx, o.ID, d.ID, true); err != nil {
			t.Errorf("in the transaction: %v", err)
		}
		if _, err := st.GetInvoice(context.Background(), o.ID, d.ID, false); errs.KindOf(err) != errs.NotFound {
			t.Errorf("outside the transaction, before commit: err = %v, want not found", err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want the error of fn", err)
	}
	if _, err := st.GetInvoice(ctx, o.ID, inserted, false); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("after rollback: err = %v, want not found", err)
	}
	if got, err := st.GetCustomer(ctx, o.ID, c.ID); err != nil || got.CreditBalance != 0 {
		t.Fatalf("credit after rollback = %v (%v), want 0", got.CreditBalance, err)
	}

	// A panic rolls back too, and leaves the store usable.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		_ = st.InTx(ctx, func(ctx context.Context) error {
			d := draft(o, c)
			inserted = d.ID
			must(t, st.InsertInvoice(ctx, d))
			panic("boom")
		})
	}()
	if _, err := st.GetInvoice(ctx, o.ID, inserted, false); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("after a panic: err = %v, want not found", err)
	}
	must(t, st.InTx(ctx, func(ctx context.Context) error { return st.AddCustomerCredit(ctx, o.ID, c.ID, 5) }))
}

func testInTxNested(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	exists := func(id string) bool {
		t.Helper()
		_, err := st.GetInvoice(ctx, o.ID, id, false)
		if err != nil && errs.KindOf(err) != errs.NotFound {
			t.Fatal(err)
		}
		return err == nil
	}
	// The inner transaction joins the outer: the outer's failure undoes both.
	outer, inner := draft(o, c), draft(o, c)
	err := st.InTx(ctx, func(ctx context.Context) error {
		must(t, st.InsertInvoice(ctx, outer))
		must(t, st.InTx(ctx, func(ctx context.Context) error {
			if _, err := st.GetInvoice(ctx, o.ID, outer.ID, true); err != nil {
				t.Errorf("the inner transaction does not see the outer's write: %v", err)
			}
			return st.InsertInvoice(ctx, inner)
		}))
		return errRollback
	})
	if !errors.Is(err, errRollback) || exists(outer.ID) || exists(inner.ID) {
		t.Fatalf("after the outer rolled back: err %v, outer kept %v, inner kept %v", err, exists(outer.ID), exists(inner.ID))
	}
	// Both commit with the outer.
	must(t, st.InTx(ctx, func(ctx context.Context) error {
		must(t, st.InsertInvoice(ctx, outer))
		return st.InTx(ctx, func(ctx context.Context) error { return st.InsertInvoice(ctx, inner) })
	}))
	if !exists(outer.ID) || !exists(inner.ID) {
		t.Fatal("after commit the invoices are missing")
	}
}

// testNextNumberConcurrent takes 500 numbers from 16 goroutines, each in a
// transaction that also locks and updates one shared invoice, as finalizing
// does: the numbers are exactly 1..500 and no update is lost.
func testNextNumberConcurrent(t *testing.T, st *sqlstore.Store) {
	const n, workers = 500, 16
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	shared := draft(o, c)
	must(t, st.InsertInvoice(ctx, shared))
	var mu sync.Mutex
	var got []int64
	work := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				err := st.InTx(ctx, func(ctx context.Context) error {
					inv, err := st.GetInvoice(ctx, o.ID, shared.ID, true)
					if err != nil {
						return err
					}
					num, err := st.NextNumber(ctx, o.ID, "invoice:CONC-")
					if err != nil {
						return err
					}
					inv.Notes = fmt.Sprint(num)
					if err := st.UpdateInvoice(ctx, inv); err != nil {
						return err
					}
					mu.Lock()
					got = append(got, num)
					mu.Unlock()
					return nil
				})
				if err != nil {
					t.Errorf("transaction: %v", err)
				}
			}
		}()
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		return
	}
	slices.Sort(got)
	if len(got) != n {
		t.Fatalf("took %d numbers, want %d", len(got), n)
	}
	for i, v := range got {
		if v != int64(i+1) {
			t.Fatalf("sorted numbers[%d] = %d, want %d: a gap or a duplicate", i, v, i+1)
		}
	}
	inv, err := st.GetInvoice(ctx, o.ID, shared.ID, false)
	must(t, err)
	if inv.Version != n {
		t.Fatalf("the shared invoice is at version %d after %d locked updates: an update was lost", inv.Version, n)
	}
}

func testMigrations(t *testing.T, st *sqlstore.Store) {
	current, known, err := st.SchemaVersion(ctx)
	must(t, err)
	if known < 1 || current != known {
		t.Fatalf("schema version %d of %d known; want the newest", current, known)
	}
	must(t, st.Migrate(ctx)) // nothing to do
	if current2, _, err := st.SchemaVersion(ctx); err != nil || current2 != current {
		t.Fatalf("after a second Migrate: version %d (%v), want %d", current2, err, current)
	}
	// A newer binary migrated the database: this one refuses it.
	newer := known + 1
	_, err = st.DB().Exec(fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'future', '2030-01-01T00:00:00Z')", newer))
	must(t, err)
	err = st.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(newer)) || !strings.Contains(err.Error(), fmt.Sprint(known)) {
		t.Fatalf("Migrate on a newer schema = %v, want an error naming versions %d and %d", err, newer, known)
	}
}
