package sqlstore

import (
	"context"

	"bursar/internal/errs"
	"bursar/internal/invoice"
	"bursar/internal/money"
)

// content is what a document's JSON column holds: its lines, allowances,
// charges and tax breakdown, every number an exact decimal string. One
// column keeps a document one row, written and read by one statement;
// the totals live in columns of their own, in minor units, to be queried.
type content struct {
	Lines      []invoice.Line            `json:"lines"`
	Allowances []invoice.AllowanceCharge `json:"allowances"`
	Charges    []invoice.AllowanceCharge `json:"charges"`
	Taxes      []invoice.TaxSubtotal     `json:"taxes"`
}

// documentCols are the columns of the priced content of a document,
// invoice or credit note: currency, content and totals.
const documentCols = "currency, prices_include_tax, content, total_lines_net, total_allowances, total_charges, " +
	"total_tax_exclusive, total_tax, total_tax_inclusive, total_paid, total_rounding, total_due"

// documentArgs returns the arguments of documentCols for d, converting
// totals with m.
func documentArgs(d *invoice.Document, m *minorUnits) ([]any, error) {
	c, err := jsonText(content{d.Lines, d.Allowances, d.Charges, d.Taxes})
	if err != nil {
		return nil, err
	}
	t := &d.Totals
	return []any{d.Currency, d.PricesIncludeTax, c, m.of("lines_net", t.LinesNet), m.of("allowances", t.Allowances),
		m.of("charges", t.Charges), m.of("tax_exclusive", t.TaxExclusive), m.of("tax", t.Tax),
		m.of("tax_inclusive", t.TaxInclusive), m.of("paid", t.Paid), m.of("rounding", t.Rounding), m.of("due", t.Due)}, nil
}

// documentDest scans documentCols; finish converts the totals once the
// currency is known.
type documentDest struct {
	d      *invoice.Document
	c      content
	totals [9]int64
}

func (dd *documentDest) dests(cc *textCache[content]) []any {
	dests := []any{&dd.d.Currency, &dd.d.PricesIncludeTax, cc.dest(&dd.c)}
	for i := range dd.totals {
		dests = append(dests, &dd.totals[i])
	}
	return dests
}

func (dd *documentDest) finish() {
	d, cur := dd.d, dd.d.Currency
	d.Lines, d.Allowances, d.Charges, d.Taxes = dd.c.Lines, dd.c.Allowances, dd.c.Charges, dd.c.Taxes
	for i, p := range []*money.Decimal{&d.Totals.LinesNet, &d.Totals.Allowances, &d.Totals.Charges, &d.Totals.TaxExclusive,
		&d.Totals.Tax, &d.Totals.TaxInclusive, &d.Totals.Paid, &d.Totals.Rounding, &d.Totals.Due} {
		*p = cur.Amount(dd.totals[i])
	}
}

// invoiceSet are the columns of an invoice that an update replaces.
const invoiceSet = "number, status, customer_id, buyer, seller, issue_date, due_date, payment_terms_days, buyer_reference, " +
	"purchase_order, notes, footer, " + documentCols + ", amount_paid, amount_credited, credit_applied, content_hash, " +
	"finalized_at, paid_at, voided_at, updated_at"

const invoiceCols = "id, org_id, created_at, version, " + invoiceSet

var (
	insertInvoiceSQL = insertSQL("invoices", invoiceCols)
	updateInvoiceSQL = "UPDATE invoices SET version = version + 1, " + assignSQL(invoiceSet) +
		" WHERE org_id = ? AND id = ? AND version = ?"
)

// invoiceSetArgs seals the buyer and seller snapshots and the notes.
func (s *Store) invoiceSetArgs(ctx context.Context, inv *invoice.Invoice) ([]any, error) {
	x := s.sealer(ctx, inv.OrgID, "invoices", inv.ID)
	buyer, seller, notes := x.json("buyer", inv.Buyer), x.json("seller", inv.Seller), x.text("notes", inv.Notes)
	if x.err != nil {
		return nil, x.err
	}
	m := &minorUnits{cur: inv.Currency}
	doc, err := documentArgs(&inv.Document, m)
	if err != nil {
		return nil, err
	}
	args := []any{inv.Number, inv.Status, inv.CustomerID, buyer, seller, inv.IssueDate, inv.DueDate, inv.PaymentTermsDays,
		inv.BuyerReference, inv.PurchaseOrder, notes, inv.Footer}
	args = append(args, doc...)
	args = append(args, m.of("amount_paid", inv.AmountPaid), m.of("amount_credited", inv.AmountCredited),
		m.of("credit_applied", inv.CreditApplied), inv.ContentHash, stampPtr(&inv.FinalizedAt), stampPtr(&inv.PaidAt),
		stampPtr(&inv.VoidedAt), stamp(&inv.UpdatedAt))
	return args, m.err
}

// scanInvoice returns a function that scans an invoice and opens its
// sealed columns.
func (s *Store) scanInvoice(ctx context.Context) func(sc scanner) (*invoice.Invoice, error) {
	return func(sc scanner) (*invoice.Invoice, error) { return s.scanInvoiceRow(ctx, sc) }
}

func (s *Store) scanInvoiceRow(ctx context.Context, sc scanner) (*invoice.Invoice, error) {
	var inv invoice.Invoice
	dd := documentDest{d: &inv.Document}
	var paid, credited, applied int64
	var buyer, seller string
	dests := []any{&inv.ID, &inv.OrgID, timeDest{&inv.CreatedAt}, &inv.Version, &inv.Number, &inv.Status, &inv.CustomerID,
		&buyer, &seller, &inv.IssueDate, &inv.DueDate, &inv.PaymentTermsDays,
		&inv.BuyerReference, &inv.PurchaseOrder, &inv.Notes, &inv.Footer}
	dests = append(dests, dd.dests(s.caches.content)...)
	dests = append(dests, &paid, &credited, &applied, &inv.ContentHash, nullTimeDest{&inv.FinalizedAt},
		nullTimeDest{&inv.PaidAt}, nullTimeDest{&inv.VoidedAt}, timeDest{&inv.UpdatedAt})
	if err := sc.Scan(dests...); err != nil {
		return nil, err
	}
	x := s.opener(ctx, inv.OrgID, "invoices", inv.ID)
	openCached(x, s.caches.buyer, "buyer", buyer, &inv.Buyer)
	openCached(x, s.caches.seller, "seller", seller, &inv.Seller)
	x.open("notes", &inv.Notes)
	if x.err != nil {
		return nil, x.err
	}
	dd.finish()
	inv.AmountPaid, inv.AmountCredited, inv.CreditApplied = inv.Currency.Amount(paid), inv.Currency.Amount(credited), inv.Currency.Amount(applied)
	return &inv, nil
}

// InsertInvoice stores a new invoice, lines included, in one statement.
func (s *Store) InsertInvoice(ctx context.Context, inv *invoice.Invoice) error {
	set, err := s.invoiceSetArgs(ctx, inv)
	if err != nil {
		return s.fail(err, "insert", "invoice", inv.ID)
	}
	args := append([]any{inv.ID, inv.OrgID, stamp(&inv.CreatedAt), inv.Version}, set...)
	if _, err := s.exec(ctx, insertInvoiceSQL, args...); err != nil {
		return s.fail(err, "insert", "invoice", inv.ID)
	}
	return nil
}

// UpdateInvoice replaces the stored invoice if its stored version is still
// inv.Version, and increments inv.Version.
func (s *Store) UpdateInvoice(ctx context.Context, inv *invoice.Invoice) error {
	set, err := s.invoiceSetArgs(ctx, inv)
	if err != nil {
		return s.fail(err, "update", "invoice", inv.ID)
	}
	n, err := s.exec(ctx, updateInvoiceSQL, append(set, inv.OrgID, inv.ID, inv.Version)...)
	if err != nil {
		return s.fail(err, "update", "invoice", inv.ID)
	}
	if n == 0 {
		if _, err := s.GetInvoice(ctx, inv.OrgID, inv.ID, false); err != nil {
			return err
		}
		return errs.E(errs.Conflict, "version_conflict", "invoice %s was changed by another request; read it again and retry", inv.ID)
	}
	inv.Version++
	return nil
}

// GetInvoice reads an invoice; with forUpdate it locks the row until the
// transaction ends (on SQLite the transaction already excludes every other
// writer).
func (s *Store) GetInvoice(ctx context.Context, orgID, id string, forUpdate bool) (*invoice.Invoice, error) {
	q := "SELECT " + invoiceCols + " FROM invoices WHERE org_id = ? AND id = ?"
	if forUpdate {
		q += s.d.ForUpdate
	}
	inv, err := s.scanInvoiceRow(ctx, s.queryRow(ctx, q, orgID, id))
	if err := s.getOne(err, "invoice", id); err != nil {
		return nil, err
	}
	return inv, nil
}

// InvoiceVersion reads an invoice's version alone: what a reader that
// keeps an invoice it read before needs to know whether it changed since.
func (s *Store) InvoiceVersion(ctx context.Context, orgID, id string) (int, error) {
	if s.versions != nil && s.txOf(ctx) == nil {
		if v, found, ok := s.versions.ReadVersion(ctx, orgID, id); ok {
			if !found {
				return 0, errs.NotFoundf("invoice", id)
			}
			return v, nil
		}
	}
	var v int
	err := s.queryRow(ctx, "SELECT version FROM invoices WHERE org_id = ? AND id = ?", orgID, id).Scan(&v)
	if err := s.getOne(err, "invoice", id); err != nil {
		return 0, err
	}
	return v, nil
}

// DeleteInvoice deletes an invoice that no payment or credit note refers to.
func (s *Store) DeleteInvoice(ctx context.Context, orgID, id string) error {
	n, err := s.exec(ctx, "DELETE FROM invoices WHERE org_id = ? AND id = ?", orgID, id)
	if err != nil {
		if s.d.Violated(err) == ForeignKey {
			return &errs.Error{Kind: errs.Conflict, Code: "invoice_in_use",
				Message: "invoice " + id + " has payments or credit notes and cannot be deleted", Err: err}
		}
		return s.fail(err, "delete", "invoice", id)
	}
	return touched(n, "invoice", id)
}

// ListInvoices lists the organization's invoices, newest first, by status,
// customer and issue date.
func (s *Store) ListInvoices(ctx context.Context, orgID string, f invoice.Filter) ([]*invoice.Invoice, error) {
	l := newList(orgID).andIf("status", string(f.Status)).andIf("customer_id", f.CustomerID)
	dateRange(l, "issue_date", f)
	q, args := l.sql(invoiceCols, "invoices", f.Params)
	return list(ctx, s, "invoices", q, args, s.scanInvoice(ctx))
}

// dateRange adds the filter's inclusive date range on column.
func dateRange(l *listQuery, column string, f invoice.Filter) {
	if !f.From.IsZero() {
		l.and(column+" >= ?", f.From)
	}
	if !f.To.IsZero() {
		l.and(column+" <= ?", f.To)
	}
}

// NextNumber increments the counter of a number series and returns the new
// value, 1 for a new series. The upsert takes the counter row's lock until
// the transaction ends, so numbers are gap-free: a rolled-back transaction
// gives its number back.
func (s *Store) NextNumber(ctx context.Context, orgID, series string) (int64, error) {
	var n int64
	err := s.execScan(ctx, `INSERT INTO number_series (org_id, series, last_value) VALUES (?, ?, 1)
		ON CONFLICT (org_id, series) DO UPDATE SET last_value = number_series.last_value + 1
		RETURNING last_value`, []any{orgID, series}, &n)
	if err != nil {
		return 0, s.fail(err, "next number of", "series", series)
	}
	return n, nil
}
