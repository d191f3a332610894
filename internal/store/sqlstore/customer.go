package sqlstore

import (
	"time"

	"context"
	"strings"

	"bursar/internal/customer"
	"bursar/internal/errs"
	"bursar/internal/org"
	"bursar/internal/vault"
)

// customerSet are the columns of a customer that an update replaces. The
// credit balance is not among them: only AddCustomerCredit changes it, so
// that an update from a stale copy never undoes a credit. Name, emails,
// address lines, tax id and notes are sealed (see sealer); email and tax id have
// blind indexes for exact-match lookups.
const customerSet = "name, email, cc_emails, " + addressCols + ", tax_id, currency, payment_terms_days, locale, notes, updated_at, " +
	"email_bidx, tax_id_bidx"

const customerCols = "id, org_id, created_at, credit_balance, " + customerSet

var (
	insertCustomerSQL = insertSQL("customers", customerCols)
	updateCustomerSQL = "UPDATE customers SET " + assignSQL(customerSet) + " WHERE org_id = ? AND id = ?"
)

func (s *Store) customerSetArgs(ctx context.Context, c *customer.Customer) ([]any, error) {
	x := s.sealer(ctx, c.OrgID, "customers", c.ID)
	args := []any{x.text("name", c.Name), x.text("email", c.Email), x.json("cc_emails", c.CCEmails)}
	args = append(args, x.address(c.Address)...)
	args = append(args, x.text("tax_id", c.TaxID), c.Currency, c.PaymentTermsDays, c.Locale, x.text("notes", c.Notes),
		stamp(&c.UpdatedAt), x.index("email", vault.NormalizeEmail(c.Email)), x.index("tax_id", vault.NormalizeTaxID(c.TaxID)))
	return args, x.err
}

// scanCustomer returns a function that scans a customer and opens its
// sealed columns.
func (s *Store) scanCustomer(ctx context.Context) func(sc scanner) (*customer.Customer, error) {
	return func(sc scanner) (*customer.Customer, error) {
		var c customer.Customer
		var cc, emailIndex, taxIDIndex string
		dests := []any{&c.ID, &c.OrgID, timeDest{&c.CreatedAt}, &c.CreditBalance, &c.Name, &c.Email, &cc}
		dests = append(dests, addressDests(&c.Address)...)
		dests = append(dests, &c.TaxID, &c.Currency, &c.PaymentTermsDays, &c.Locale, &c.Notes, timeDest{&c.UpdatedAt},
			&emailIndex, &taxIDIndex)
		if err := sc.Scan(dests...); err != nil {
			return nil, err
		}
		x := s.opener(ctx, c.OrgID, "customers", c.ID)
		x.open("name", &c.Name)
		x.open("email", &c.Email)
		x.openJSON("cc_emails", cc, &c.CCEmails)
		x.openAddress(&c.Address)
		x.open("tax_id", &c.TaxID)
		x.open("notes", &c.Notes)
		return &c, x.err
	}
}

// InsertCustomer stores a new customer with its credit balance.
func (s *Store) InsertCustomer(ctx context.Context, c *customer.Customer) error {
	set, err := s.customerSetArgs(ctx, c)
	if err != nil {
		return s.fail(err, "insert", "customer", c.ID)
	}
	args := append([]any{c.ID, c.OrgID, stamp(&c.CreatedAt), c.CreditBalance}, set...)
	if _, err := s.exec(ctx, insertCustomerSQL, args...); err != nil {
		return s.fail(err, "insert", "customer", c.ID)
	}
	return nil
}

// UpdateCustomer replaces a customer's fields, except its credit balance,
// which only AddCustomerCredit changes.
func (s *Store) UpdateCustomer(ctx context.Context, c *customer.Customer) error {
	set, err := s.customerSetArgs(ctx, c)
	if err != nil {
		return s.fail(err, "update", "customer", c.ID)
	}
	n, err := s.exec(ctx, updateCustomerSQL, append(set, c.OrgID, c.ID)...)
	if err != nil {
		return s.fail(err, "update", "customer", c.ID)
	}
	return touched(n, "customer", c.ID)
}

// GetCustomer reads a customer of the organization.
func (s *Store) GetCustomer(ctx context.Context, orgID, id string) (*customer.Customer, error) {
	c, err := s.scanCustomer(ctx)(s.queryRow(ctx, "SELECT "+customerCols+" FROM customers WHERE org_id = ? AND id = ?", orgID, id))
	if err := s.getOne(err, "customer", id); err != nil {
		return nil, err
	}
	return c, nil
}

// GetCustomerToInvoice implements invoice.Store: the customer, its erasure
// time, and a shared lock on its row, in one statement.
func (s *Store) GetCustomerToInvoice(ctx context.Context, orgID, id string) (*customer.Customer, *time.Time, error) {
	var erased *time.Time
	row := s.queryRow(ctx, "SELECT "+customerCols+", erased_at FROM customers WHERE org_id = ? AND id = ?"+s.d.ForShare, orgID, id)
	c, err := s.scanCustomer(ctx)(scanAlso{row, []any{nullTimeDest{&erased}}})
	if err := s.getOne(err, "customer", id); err != nil {
		return nil, nil, err
	}
	return c, erased, nil
}

// GetParties implements invoice.Store: the organization (the seller) and
// its customer (the buyer) in one statement.
func (s *Store) GetParties(ctx context.Context, orgID, customerID string) (*org.Organization, *customer.Customer, error) {
	row := s.queryRow(ctx, "SELECT "+prefixed("c.", customerCols)+", "+prefixed("o.", orgCols)+
		" FROM customers c JOIN organizations o ON o.id = c.org_id WHERE c.org_id = ? AND c.id = ?", orgID, customerID)
	// The customer's scan hands its destinations to the organization's,
	// which scans the whole row; each then opens its own sealed values.
	var o *org.Organization
	c, err := s.scanCustomer(ctx)(scanFunc(func(cdests ...any) error {
		var err error
		o, err = s.scanOrg(ctx, scanFunc(func(odests ...any) error { return row.Scan(append(cdests, odests...)...) }))
		return err
	}))
	if err := s.getOne(err, "customer", customerID); err != nil {
		return nil, nil, err
	}
	return o, c, nil
}

// scanFunc is a scanner made of a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// prefixed qualifies each column of a list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = alias + p
	}
	return strings.Join(parts, ", ")
}

// scanAlso scans a row's leading columns into the destinations its caller
// gives and the trailing ones into its own.
type scanAlso struct {
	sc   scanner
	more []any
}

func (s scanAlso) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.more...)...) }

// DeleteCustomer deletes a customer that no document refers to. The
// foreign keys of invoices decide, so that no invoice can slip in between a
// check and the delete.
func (s *Store) DeleteCustomer(ctx context.Context, orgID, id string) error {
	n, err := s.exec(ctx, "DELETE FROM customers WHERE org_id = ? AND id = ?", orgID, id)
	if err != nil {
		if s.d.Violated(err) == ForeignKey {
			return &errs.Error{Kind: errs.Conflict, Code: "customer_in_use",
				Message: "customer " + id + " has invoices and cannot be deleted", Err: err}
		}
		return s.fail(err, "delete", "customer", id)
	}
	return touched(n, "customer", id)
}

// ListCustomers lists the organization's customers, newest first. The
// email and tax id filters match the blind indexes of the normalized
// values, never the stored (sealed) ones.
func (s *Store) ListCustomers(ctx context.Context, orgID string, f customer.Filter) ([]*customer.Customer, error) {
	x := s.sealer(ctx, orgID, "customers", "")
	l := newList(orgID)
	if f.Email != "" {
		l.and("email_bidx = ?", x.index("email", vault.NormalizeEmail(f.Email)))
	}
	if f.TaxID != "" {
		l.and("tax_id_bidx = ?", x.index("tax_id", vault.NormalizeTaxID(f.TaxID)))
	}
	if x.err != nil {
		return nil, s.fail(x.err, "list", "customers", "")
	}
	q, args := l.sql(customerCols, "customers", f.Params)
	return list(ctx, s, "customers", q, args, s.scanCustomer(ctx))
}

// AddCustomerCredit changes a customer's credit balance by delta minor
// units, in one statement that refuses to take it below zero.
func (s *Store) AddCustomerCredit(ctx context.Context, orgID, customerID string, delta int64) error {
	n, err := s.exec(ctx, "UPDATE customers SET credit_balance = credit_balance + ? WHERE org_id = ? AND id = ? AND credit_balance + ? >= 0",
		delta, orgID, customerID, delta)
	if err != nil {
		return s.fail(err, "credit", "customer", customerID)
	}
	if n == 1 {
		return nil
	}
	if _, err := s.GetCustomer(ctx, orgID, customerID); err != nil {
		return err
	}
	return errs.E(errs.Conflict, "insufficient_credit", "the credit balance of customer %s is smaller than %d minor units", customerID, -delta)
}
