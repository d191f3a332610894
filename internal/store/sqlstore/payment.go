package sqlstore

import (
	"context"

	"bursar/internal/invoice"
)

const paymentCols = "id, org_id, invoice_id, customer_id, amount, currency, paid_on, method, reference, " +
	"applied_to_invoice, credited_to_customer, created_at"

var insertPaymentSQL = insertSQL("payments", paymentCols)

func scanPayment(sc scanner) (*invoice.Payment, error) {
	var p invoice.Payment
	var amount, applied, credited int64
	if err := sc.Scan(&p.ID, &p.OrgID, &p.InvoiceID, &p.CustomerID, &amount, &p.Currency, &p.Date, &p.Method, &p.Reference,
		&applied, &credited, timeDest{&p.CreatedAt}); err != nil {
		return nil, err
	}
	p.Amount, p.AppliedToInvoice, p.CreditedToCustomer = p.Currency.Amount(amount), p.Currency.Amount(applied), p.Currency.Amount(credited)
	return &p, nil
}

// InsertPayment stores a payment.
func (s *Store) InsertPayment(ctx context.Context, p *invoice.Payment) error {
	m := &minorUnits{cur: p.Currency}
	args := []any{p.ID, p.OrgID, p.InvoiceID, p.CustomerID, m.of("amount", p.Amount), p.Currency, p.Date, p.Method, p.Reference,
		m.of("applied_to_invoice", p.AppliedToInvoice), m.of("credited_to_customer", p.CreditedToCustomer), stamp(&p.CreatedAt)}
	if m.err != nil {
		return s.fail(m.err, "insert", "payment", p.ID)
	}
	if _, err := s.exec(ctx, insertPaymentSQL, args...); err != nil {
		return s.fail(err, "insert", "payment", p.ID)
	}
	return nil
}

// GetPayment reads a payment of the organization.
func (s *Store) GetPayment(ctx context.Context, orgID, id string) (*invoice.Payment, error) {
	p, err := scanPayment(s.queryRow(ctx, "SELECT "+paymentCols+" FROM payments WHERE org_id = ? AND id = ?", orgID, id))
	if err := s.getOne(err, "payment", id); err != nil {
		return nil, err
	}
	return p, nil
}

// ListPayments lists the organization's payments, newest first, by
// invoice, customer and payment date; payments have no status, so a status
// filter matches none.
func (s *Store) ListPayments(ctx context.Context, orgID string, f invoice.Filter) ([]*invoice.Payment, error) {
	if f.Status != "" {
		return []*invoice.Payment{}, nil
	}
	l := newList(orgID).andIf("invoice_id", f.InvoiceID).andIf("customer_id", f.CustomerID)
	dateRange(l, "paid_on", f)
	q, args := l.sql(paymentCols, "payments", f.Params)
	return list(ctx, s, "payments", q, args, scanPayment)
}
