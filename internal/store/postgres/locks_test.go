package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"bursar/internal/customer"
	"bursar/internal/org"
)

// Invoices for one customer do not wait for each other, but an erasure of
// the customer waits for them (and they for it): GetCustomerToInvoice
// holds a shared lock on the customer's row, the erasure an exclusive one.
func TestInvoicingLocksCustomerShared(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	now := time.Now()
	o, err := org.New(org.Input{Name: "Acme GmbH", DefaultCurrency: "EUR"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InsertOrganization(ctx, o); err != nil {
		t.Fatal(err)
	}
	c := &customer.Customer{ID: "cus_01JD8Q2W5V4H8Z6N3K7M9P0R1S", OrgID: o.ID, Name: "Globex", Currency: "EUR", CreatedAt: now, UpdatedAt: now}
	if err := st.InsertCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}

	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- st.InTx(ctx, func(ctx context.Context) error {
			if _, erased, err := st.GetCustomerToInvoice(ctx, o.ID, c.ID); err != nil || erased != nil {
				return errors.Join(err, errors.New("first reader: unexpected erasure time"))
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	defer func() {
		close(release)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	// A second invoice for the customer goes ahead at once.
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := st.InTx(short, func(ctx context.Context) error {
		_, _, err := st.GetCustomerToInvoice(ctx, o.ID, c.ID)
		return err
	}); err != nil {
		t.Fatalf("a second reader waited for the first: %v", err)
	}
	// An erasure waits for the invoice in progress.
	wait, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	err = st.InTx(wait, func(ctx context.Context) error {
		_, err := st.CustomerErasedAt(ctx, o.ID, c.ID, true)
		return err
	})
	if err == nil {
		t.Fatal("an exclusive lock of the customer did not wait for the invoice in progress")
	}
}
