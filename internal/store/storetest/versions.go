package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"bursar/internal/errs"
	"bursar/internal/invoice"
	"bursar/internal/store/sqlstore"
)

// testInvoiceVersionsConcurrent reads invoice versions from many
// goroutines while one writer changes the invoices (on PostgreSQL, over
// the pipelined connection of version reads once it is up, and from the
// pool before). No read is older than its call:
// it shows at least every version committed before it began. Another
// organization's invoice and a missing one are not found, and a read
// inside a transaction sees the transaction's own change.
func testInvoiceVersionsConcurrent(t *testing.T, st *sqlstore.Store) {
	o, o2 := newOrg(t, st), newOrg(t, st)
	c, c2 := newCustomer(t, st, o.ID), newCustomer(t, st, o2.ID)
	invs := make([]*invoice.Invoice, 6)
	committed := make([]atomic.Int64, len(invs))
	for i := range invs {
		invs[i] = draft(o, c)
		invs[i].Version = 0
		must(t, st.InsertInvoice(ctx, invs[i]))
	}
	foreign := draft(o2, c2)
	must(t, st.InsertInvoice(ctx, foreign))
	missing := draft(o, c)

	const rounds = 40
	var wg sync.WaitGroup
	var writing atomic.Bool
	writing.Store(true)
	wg.Go(func() {
		defer writing.Store(false)
		for r := range rounds {
			for i, inv := range invs {
				inv.Notes = "round " + string(rune('a'+r%26))
				if err := st.UpdateInvoice(ctx, inv); err != nil {
					t.Errorf("update: %v", err)
					return
				}
				committed[i].Store(int64(inv.Version))
			}
		}
	})
	var reads atomic.Int64
	for g := range 16 {
		wg.Go(func() {
			for n := 0; writing.Load() || n < 20; n++ {
				i := (g + n) % len(invs)
				before := committed[i].Load()
				v, err := st.InvoiceVersion(ctx, o.ID, invs[i].ID)
				if err != nil || int64(v) < before {
					t.Errorf("InvoiceVersion = %d, %v; version %d was committed before the read began", v, err, before)
					return
				}
				reads.Add(1)
				if n%5 == 0 {
					_, err := st.InvoiceVersion(ctx, o.ID, foreign.ID)
					wantErr(t, err, errs.NotFound, "not_found")
					_, err = st.InvoiceVersion(ctx, o.ID, missing.ID)
					wantErr(t, err, errs.NotFound, "not_found")
				}
				if n%7 == 0 {
					gone, cancel := context.WithCancel(ctx)
					cancel()
					if v, err := st.InvoiceVersion(gone, o.ID, invs[i].ID); err != nil && !errors.Is(err, context.Canceled) || err == nil && int64(v) < before {
						t.Errorf("InvoiceVersion with a cancelled context = %d, %v", v, err)
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, inv := range invs {
		if v, err := st.InvoiceVersion(ctx, o.ID, inv.ID); err != nil || v != rounds || committed[i].Load() != rounds {
			t.Fatalf("final InvoiceVersion = %d, %v; want %d", v, err, rounds)
		}
	}
	t.Logf("%d reads during %d updates", reads.Load(), rounds*len(invs))

	inv := invs[0]
	must(t, st.InTx(ctx, func(ctx context.Context) error {
		inv.Notes = "in a transaction"
		if err := st.UpdateInvoice(ctx, inv); err != nil {
			return err
		}
		v, err := st.InvoiceVersion(ctx, o.ID, inv.ID)
		if err == nil && v != rounds+1 {
			t.Errorf("InvoiceVersion inside the transaction = %d, want its own %d", v, rounds+1)
		}
		return err
	}))
}
