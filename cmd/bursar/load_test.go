package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bursar/internal/audit"
	"bursar/internal/customer"
	"bursar/internal/invoice"
	"bursar/internal/org"
	"bursar/internal/party"
	"bursar/internal/store/sqlstore"
)

// seedAcme stores the organization and the customer that the backup and
// purge tests invoice, with personal values those tests look for in clear.
func seedAcme(t *testing.T, st *sqlstore.Store) (*org.Organization, *customer.Customer) {
	t.Helper()
	ctx := context.Background()
	o, err := org.New(org.Input{Name: "Acme", Email: "owner@acme.example", DefaultCurrency: "EUR", TimeZone: "UTC",
		Address: party.Address{Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InsertOrganization(ctx, o); err != nil {
		t.Fatal(err)
	}
	cus, err := (&customer.Service{Store: st, Now: time.Now}).Create(ctx, o.ID, "EUR", customer.Input{Name: "Globex", Email: "ap@globex.example"})
	if err != nil {
		t.Fatal(err)
	}
	return o, cus
}

// invoiceLoad creates, finalizes and audits invoices from four goroutines
// until stopped: each invoice in one transaction, so its rows never change
// once visible, which is the write load a backup must not tear.
type invoiceLoad struct {
	made atomic.Int64
	err  atomic.Value
	stop func()
}

// startInvoiceLoad starts the load; the test's cleanup stops it.
func startInvoiceLoad(t *testing.T, st *sqlstore.Store, log *audit.Log, orgID, customerID string) *invoiceLoad {
	t.Helper()
	ctx := context.Background()
	invoices := &invoice.Service{Store: st, Now: time.Now}
	l := &invoiceLoad{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				err := st.InTx(ctx, func(ctx context.Context) error {
					inv, err := invoices.Create(ctx, orgID, invoice.Input{CustomerID: customerID, Lines: []invoice.LineInput{
						{Description: fmt.Sprintf("work %d.%d", w, i), Quantity: "1", UnitPrice: "10.00"}}})
					if err != nil {
						return err
					}
					if inv, err = invoices.Finalize(ctx, orgID, inv.ID); err != nil {
						return err
					}
					return log.Append(ctx, &audit.Entry{Tree: orgID, Actor: audit.Actor{Type: audit.ActorSystem, ID: "test"},
						Action: "invoice.finalized", ObjectType: "invoice", ObjectID: inv.ID})
				})
				if err != nil {
					l.err.Store(err)
					return
				}
				l.made.Add(1)
			}
		}()
	}
	l.stop = sync.OnceFunc(func() { close(done); wg.Wait() })
	t.Cleanup(l.stop)
	return l
}

// waitFor waits until the load has made n invoices in all, and fails the
// test if it stopped on an error instead.
func (l *invoiceLoad) waitFor(t *testing.T, n int64) {
	t.Helper()
	for l.made.Load() < n {
		if err := l.err.Load(); err != nil {
			t.Fatalf("load: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// end stops the load and fails the test if it failed.
func (l *invoiceLoad) end(t *testing.T) {
	t.Helper()
	l.stop()
	if err := l.err.Load(); err != nil {
		t.Fatalf("load: %v", err)
	}
}
