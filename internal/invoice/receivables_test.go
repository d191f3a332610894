package invoice_test

import (
	"context"
	"testing"

	"bursar/internal/civil"
	"bursar/internal/errs"
	"bursar/internal/invoice"
)

// open creates and finalizes an invoice of one line at price (EUR, untaxed).
func (fx fixture) open(t *testing.T, price string) *invoice.Invoice {
	t.Helper()
	ctx := context.Background()
	inv, err := fx.svc.Create(ctx, fx.orgID, invoice.Input{CustomerID: fx.cusID,
		Lines: []invoice.LineInput{{Description: "x", Quantity: "1", UnitPrice: price}}})
	if err != nil {
		t.Fatal(err)
	}
	inv, err = fx.svc.Finalize(ctx, fx.orgID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func (fx fixture) credit(t *testing.T) string {
	t.Helper()
	c, err := fx.st.GetCustomer(context.Background(), fx.orgID, fx.cusID)
	if err != nil {
		t.Fatal(err)
	}
	return c.Currency.Amount(c.CreditBalance).String()
}

// An overpayment becomes customer credit; the next invoice uses it at
// finalize; voiding that invoice gives the credit back.
func TestOverpaymentCreditPaysTheNextInvoice(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, openSQLite(t))
	first := fx.open(t, "100.00")
	p, inv, err := fx.svc.RecordPayment(ctx, fx.orgID, first.ID, invoice.PaymentInput{Amount: "130.00"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Status != invoice.StatusPaid || p.AppliedToInvoice.String() != "100.00" || p.CreditedToCustomer.String() != "30.00" {
		t.Fatalf("payment applied %s, credited %s, status %s; want 100.00, 30.00, paid", p.AppliedToInvoice, p.CreditedToCustomer, inv.Status)
	}
	if got := fx.credit(t); got != "30.00" {
		t.Fatalf("credit balance = %s, want 30.00", got)
	}
	second := fx.open(t, "50.00")
	if second.CreditApplied.String() != "30.00" || second.Totals.Due.String() != "20.00" || second.Totals.Paid.String() != "30.00" {
		t.Fatalf("second invoice credit applied %s, paid %s, due %s; want 30.00, 30.00, 20.00", second.CreditApplied, second.Totals.Paid, second.Totals.Due)
	}
	if got := fx.credit(t); got != "0.00" {
		t.Fatalf("credit balance after use = %s, want 0.00", got)
	}
	if _, err := fx.svc.Void(ctx, fx.orgID, second.ID); err != nil {
		t.Fatal(err)
	}
	if got := fx.credit(t); got != "30.00" {
		t.Fatalf("credit balance after void = %s, want 30.00 back", got)
	}
	third := fx.open(t, "10.00")
	if third.Status != invoice.StatusPaid || third.Totals.Due.String() != "0.00" {
		t.Fatalf("third invoice status %s, due %s; want paid by credit, 0.00", third.Status, third.Totals.Due)
	}
}

// A partial credit note reduces what is due; credit notes never exceed the
// invoice; a credit note on a paid invoice becomes customer credit.
func TestCreditNotes(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, openSQLite(t))
	inv := fx.open(t, "100.00")
	cn, err := fx.svc.CreateCreditNote(ctx, fx.orgID, invoice.CreditNoteInput{InvoiceID: inv.ID, Reason: "damaged",
		Lines: []invoice.LineInput{{Description: "x", Quantity: "1", UnitPrice: "40.00"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cn.Number) != len("CN-2026-00001") || cn.Number[:3] != "CN-" || cn.Number[len(cn.Number)-5:] != "00001" {
		t.Errorf("credit note number = %q, want the credit note series", cn.Number)
	}
	if cn.AppliedToInvoice.String() != "40.00" || !cn.CreditedToCustomer.IsZero() {
		t.Errorf("applied %s, credited %s; want 40.00, 0", cn.AppliedToInvoice, cn.CreditedToCustomer)
	}
	got, err := fx.svc.Get(ctx, fx.orgID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Totals.Due.String() != "60.00" || got.Status != invoice.StatusOpen {
		t.Fatalf("after credit note: due %s, status %s; want 60.00, open", got.Totals.Due, got.Status)
	}
	_, err = fx.svc.CreateCreditNote(ctx, fx.orgID, invoice.CreditNoteInput{InvoiceID: inv.ID,
		Lines: []invoice.LineInput{{Description: "x", Quantity: "1", UnitPrice: "60.01"}}})
	if errs.KindOf(err) != errs.Invalid {
		t.Fatalf("credit beyond the invoice: err = %v, want Invalid", err)
	}
	if _, _, err := fx.svc.RecordPayment(ctx, fx.orgID, inv.ID, invoice.PaymentInput{Amount: "60.00"}); err != nil {
		t.Fatal(err)
	}
	cn2, err := fx.svc.CreateCreditNote(ctx, fx.orgID, invoice.CreditNoteInput{InvoiceID: inv.ID,
		Lines: []invoice.LineInput{{Description: "x", Quantity: "1", UnitPrice: "10.00"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !cn2.AppliedToInvoice.IsZero() || cn2.CreditedToCustomer.String() != "10.00" || fx.credit(t) != "10.00" {
		t.Errorf("credit note on paid invoice: applied %s, credited %s, balance %s; want 0, 10.00, 10.00",
			cn2.AppliedToInvoice, cn2.CreditedToCustomer, fx.credit(t))
	}
	if _, err := fx.svc.Void(ctx, fx.orgID, inv.ID); errs.CodeOf(err) != "invoice_not_voidable" {
		t.Errorf("void of a paid invoice: err = %v, want invoice_not_voidable", err)
	}
}

func TestFormatNumber(t *testing.T) {
	d := civil.Date{Year: 2027, Month: 3, Day: 9}
	tests := []struct {
		pattern    string
		seq        int64
		num, serie string
	}{
		{"INV-{YYYY}-{SEQ:5}", 42, "INV-2027-00042", "INV-2027-{SEQ:5}"},
		{"{YY}{MM}/{SEQ}", 7, "2703/7", "2703/{SEQ}"},
		{"R{SEQ:3}", 12345, "R12345", "R{SEQ:3}"},
	}
	for _, tt := range tests {
		num, series := invoice.FormatNumber(tt.pattern, d, tt.seq)
		if num != tt.num || series != tt.serie {
			t.Errorf("FormatNumber(%q, %d) = %q, %q; want %q, %q", tt.pattern, tt.seq, num, series, tt.num, tt.serie)
		}
	}
}
