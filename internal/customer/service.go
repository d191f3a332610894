package customer

import (
	"context"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/money"
	"bursar/internal/page"
	"bursar/internal/party"
)

// Filter selects customers for a list.
type Filter struct {
	page.Params
	Email string // exact match, ignoring case and surrounding spaces
	TaxID string // exact match, ignoring case, spaces, dots, dashes and slashes
}

// Store is what the customer package needs from storage; see
// invoice.Store for the conventions every store follows.
type Store interface {
	InsertCustomer(ctx context.Context, c *Customer) error
	UpdateCustomer(ctx context.Context, c *Customer) error
	GetCustomer(ctx context.Context, orgID, id string) (*Customer, error)
	// DeleteCustomer refuses (errs.Conflict, code "customer_in_use") a
	// customer that has invoices.
	DeleteCustomer(ctx context.Context, orgID, id string) error
	ListCustomers(ctx context.Context, orgID string, f Filter) ([]*Customer, error)
	// CustomerErasedAt returns when the customer's personal data was
	// erased (internal/privacy), nil if it was not; with lock, it also
	// locks the customer's row until the transaction ends.
	CustomerErasedAt(ctx context.Context, orgID, id string, lock bool) (*time.Time, error)
}

// Input is the writable part of a customer, as the API receives it.
type Input struct {
	Name             string        `json:"name"`
	Email            string        `json:"email"`
	CCEmails         []string      `json:"cc_emails"`
	Address          party.Address `json:"address"`
	TaxID            string        `json:"tax_id"`
	Currency         string        `json:"currency"`
	PaymentTermsDays *int          `json:"payment_terms_days"`
	Locale           string        `json:"locale"`
	Notes            string        `json:"notes"`
}

// InputOf returns the writable part of c, the starting point of an update.
func InputOf(c *Customer) Input {
	terms := c.PaymentTermsDays
	return Input{Name: c.Name, Email: c.Email, CCEmails: c.CCEmails, Address: c.Address, TaxID: c.TaxID,
		Currency: string(c.Currency), PaymentTermsDays: &terms, Locale: c.Locale, Notes: c.Notes}
}

// Service runs the customer rules against a Store.
type Service struct {
	Store Store
	Now   func() time.Time
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// apply validates in and copies it onto c.
func (in Input) apply(c *Customer, defaultCurrency money.Currency) error {
	var f errs.Fields
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		f.Add("name", "is required")
	case len(in.Name) > 200:
		f.Add("name", "must be at most 200 characters")
	}
	if in.Email != "" && !validEmail(in.Email) {
		f.Add("email", "must be a plain email address such as billing@example.com")
	}
	if len(in.CCEmails) > 10 {
		f.Add("cc_emails", "must list at most 10 addresses")
	}
	for i, e := range in.CCEmails {
		if !validEmail(e) {
			f.Add("cc_emails["+strconv.Itoa(i)+"]", "must be a plain email address")
		}
	}
	in.Address.Validate("address", &f)
	if len(in.TaxID) > 50 {
		f.Add("tax_id", "must be at most 50 characters")
	}
	cur := defaultCurrency
	if in.Currency != "" {
		c, err := money.ParseCurrency(in.Currency)
		if err != nil {
			f.Add("currency", "must be an active ISO 4217 currency code such as EUR")
		}
		cur = c
	}
	terms := 30
	if in.PaymentTermsDays != nil {
		terms = *in.PaymentTermsDays
		if terms < 0 || terms > 3650 {
			f.Add("payment_terms_days", "must be between 0 and 3650")
		}
	}
	if len(in.Locale) > 35 {
		f.Add("locale", "must be a BCP 47 language tag such as de-DE")
	}
	if len(in.Notes) > 10000 {
		f.Add("notes", "must be at most 10000 characters")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if c.ID != "" && c.Currency != cur && c.CreditBalance != 0 {
		return errs.E(errs.Conflict, "customer_has_credit", "the currency of a customer with a credit balance cannot change")
	}
	c.Name, c.Email, c.CCEmails, c.Address, c.TaxID = in.Name, in.Email, in.CCEmails, in.Address, in.TaxID
	c.Currency, c.PaymentTermsDays, c.Locale, c.Notes = cur, terms, in.Locale, in.Notes
	return nil
}

// Create validates in and stores a new customer of the organization.
// defaultCurrency is the organization's, used when in names none.
func (s *Service) Create(ctx context.Context, orgID string, defaultCurrency money.Currency, in Input) (*Customer, error) {
	now := s.Now().UTC()
	c := &Customer{OrgID: orgID}
	if err := in.apply(c, defaultCurrency); err != nil {
		return nil, err
	}
	c.ID = ident.New("cus", now)
	c.CreatedAt, c.UpdatedAt = now, now
	if err := s.Store.InsertCustomer(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Update validates in and replaces the customer's writable fields.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input) (*Customer, error) {
	c, err := s.Store.GetCustomer(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	// An update would bring back what the erasure removed.
	erased, err := s.Store.CustomerErasedAt(ctx, orgID, id, true)
	if err != nil {
		return nil, err
	}
	if erased != nil {
		return nil, errs.E(errs.Conflict, "customer_erased", "customer %s was erased and can no longer be changed", id)
	}
	if err := in.apply(c, c.Currency); err != nil {
		return nil, err
	}
	c.UpdatedAt = s.Now().UTC()
	if err := s.Store.UpdateCustomer(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}
