package invoice

import (
	"context"
	"time"

	"bursar/internal/catalog"
	"bursar/internal/civil"
	"bursar/internal/customer"
	"bursar/internal/org"
	"bursar/internal/page"
)

// Filter selects invoices, credit notes or payments for a list. Zero fields
// do not filter.
type Filter struct {
	page.Params
	Status     Status
	CustomerID string
	InvoiceID  string     // credit notes and payments of one invoice
	From, To   civil.Date // issue date (payment date for payments), inclusive
}

// Store is what the invoice package needs from storage. Every method takes
// the organization explicitly; an object of another organization is
// reported as not found (errs.NotFound), exactly like a missing one.
//
// InTx runs fn in one database transaction carried by the context it passes
// to fn: every Store call made with that context is part of it. It commits
// when fn returns nil and rolls back otherwise. Nested InTx calls join the
// outer transaction.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	GetOrganization(ctx context.Context, orgID string) (*org.Organization, error)
	// GetParties reads the organization and its customer, the seller and
	// the buyer of a document being finalized, together.
	GetParties(ctx context.Context, orgID, customerID string) (*org.Organization, *customer.Customer, error)
	GetCustomer(ctx context.Context, orgID, id string) (*customer.Customer, error)
	// GetCustomerToInvoice reads a customer about to be invoiced and when
	// its personal data was erased (nil if it was not), and holds a shared
	// lock on its row until the transaction ends: an erasure (which locks
	// the row exclusively) and a new invoice take turns, while invoices
	// for the same customer do not wait for each other.
	GetCustomerToInvoice(ctx context.Context, orgID, id string) (*customer.Customer, *time.Time, error)
	// AddCustomerCredit changes a customer's credit balance by delta minor
	// units; the balance never goes below zero (errs.Conflict).
	AddCustomerCredit(ctx context.Context, orgID, customerID string, delta int64) error
	GetTaxRate(ctx context.Context, orgID, id string) (*catalog.TaxRate, error)
	GetProduct(ctx context.Context, orgID, id string) (*catalog.Product, error)

	InsertInvoice(ctx context.Context, inv *Invoice) error
	// UpdateInvoice replaces the stored invoice, lines included, if its
	// stored version equals inv.Version (else errs.Conflict with code
	// "version_conflict"), and increments inv.Version.
	UpdateInvoice(ctx context.Context, inv *Invoice) error
	// GetInvoice reads an invoice; with forUpdate it also locks the row
	// until the transaction ends (SELECT ... FOR UPDATE where supported).
	GetInvoice(ctx context.Context, orgID, id string, forUpdate bool) (*Invoice, error)
	// InvoiceVersion reads the version of an invoice alone; every change
	// to a stored invoice increments it.
	InvoiceVersion(ctx context.Context, orgID, id string) (int, error)
	DeleteInvoice(ctx context.Context, orgID, id string) error
	ListInvoices(ctx context.Context, orgID string, f Filter) ([]*Invoice, error)
	// NextNumber increments the counter of a number series and returns the
	// new value (1 for a new series), under a lock held until the
	// transaction ends, so that numbers are gap-free and never repeat.
	NextNumber(ctx context.Context, orgID, series string) (int64, error)

	InsertCreditNote(ctx context.Context, cn *CreditNote) error
	GetCreditNote(ctx context.Context, orgID, id string) (*CreditNote, error)
	ListCreditNotes(ctx context.Context, orgID string, f Filter) ([]*CreditNote, error)

	InsertPayment(ctx context.Context, p *Payment) error
	GetPayment(ctx context.Context, orgID, id string) (*Payment, error)
	ListPayments(ctx context.Context, orgID string, f Filter) ([]*Payment, error)
}

// Service runs the invoice rules against a Store.
type Service struct {
	Store Store
	Now   func() time.Time
}
