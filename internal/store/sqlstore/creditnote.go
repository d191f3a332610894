package sqlstore

import (
	"context"

	"bursar/internal/invoice"
)

const creditNoteCols = "id, org_id, number, invoice_id, customer_id, buyer, seller, issue_date, reason, " + documentCols +
	", applied_to_invoice, credited_to_customer, content_hash, created_at"

var insertCreditNoteSQL = insertSQL("credit_notes", creditNoteCols)

// scanCreditNote returns a function that scans a credit note and opens
// its sealed columns (buyer, seller, reason).
func (s *Store) scanCreditNote(ctx context.Context) func(sc scanner) (*invoice.CreditNote, error) {
	return func(sc scanner) (*invoice.CreditNote, error) { return s.scanCreditNoteRow(ctx, sc) }
}

func (s *Store) scanCreditNoteRow(ctx context.Context, sc scanner) (*invoice.CreditNote, error) {
	var cn invoice.CreditNote
	var customerID, buyer, seller string
	dd := documentDest{d: &cn.Document}
	var applied, credited int64
	dests := []any{&cn.ID, &cn.OrgID, &cn.Number, &cn.InvoiceID, &customerID, &buyer, &seller,
		&cn.IssueDate, &cn.Reason}
	dests = append(dests, dd.dests(s.caches.content)...)
	dests = append(dests, &applied, &credited, &cn.ContentHash, timeDest{&cn.CreatedAt})
	if err := sc.Scan(dests...); err != nil {
		return nil, err
	}
	x := s.opener(ctx, cn.OrgID, "credit_notes", cn.ID)
	openCached(x, s.caches.buyer, "buyer", buyer, &cn.Buyer)
	openCached(x, s.caches.seller, "seller", seller, &cn.Seller)
	x.open("reason", &cn.Reason)
	if x.err != nil {
		return nil, x.err
	}
	dd.finish()
	cn.AppliedToInvoice, cn.CreditedToCustomer = cn.Currency.Amount(applied), cn.Currency.Amount(credited)
	return &cn, nil
}

// InsertCreditNote stores a credit note. Its customer is the buyer's, kept
// in a column of its own for lists by customer.
func (s *Store) InsertCreditNote(ctx context.Context, cn *invoice.CreditNote) error {
	x := s.sealer(ctx, cn.OrgID, "credit_notes", cn.ID)
	buyer, seller, reason := x.json("buyer", cn.Buyer), x.json("seller", cn.Seller), x.text("reason", cn.Reason)
	if x.err != nil {
		return s.fail(x.err, "insert", "credit note", cn.ID)
	}
	m := &minorUnits{cur: cn.Currency}
	doc, err := documentArgs(&cn.Document, m)
	if err != nil {
		return s.fail(err, "insert", "credit note", cn.ID)
	}
	args := []any{cn.ID, cn.OrgID, cn.Number, cn.InvoiceID, cn.Buyer.CustomerID, buyer, seller, cn.IssueDate, reason}
	args = append(args, doc...)
	args = append(args, m.of("applied_to_invoice", cn.AppliedToInvoice), m.of("credited_to_customer", cn.CreditedToCustomer),
		cn.ContentHash, stamp(&cn.CreatedAt))
	if m.err != nil {
		return s.fail(m.err, "insert", "credit note", cn.ID)
	}
	if _, err := s.exec(ctx, insertCreditNoteSQL, args...); err != nil {
		return s.fail(err, "insert", "credit note", cn.ID)
	}
	return nil
}

// GetCreditNote reads a credit note of the organization.
func (s *Store) GetCreditNote(ctx context.Context, orgID, id string) (*invoice.CreditNote, error) {
	cn, err := s.scanCreditNoteRow(ctx, s.queryRow(ctx, "SELECT "+creditNoteCols+" FROM credit_notes WHERE org_id = ? AND id = ?", orgID, id))
	if err := s.getOne(err, "credit note", id); err != nil {
		return nil, err
	}
	return cn, nil
}

// ListCreditNotes lists the organization's credit notes, newest first, by
// invoice, customer and issue date; credit notes have no status, so a
// status filter matches none.
func (s *Store) ListCreditNotes(ctx context.Context, orgID string, f invoice.Filter) ([]*invoice.CreditNote, error) {
	if f.Status != "" {
		return []*invoice.CreditNote{}, nil
	}
	l := newList(orgID).andIf("invoice_id", f.InvoiceID).andIf("customer_id", f.CustomerID)
	dateRange(l, "issue_date", f)
	q, args := l.sql(creditNoteCols, "credit_notes", f.Params)
	return list(ctx, s, "credit notes", q, args, s.scanCreditNote(ctx))
}
