// Package privacy holds what Bursar does for data protection law (GDPR
// articles 15, 17 and 20, and the storage limitation of article 5): the
// export of everything held about a customer, the erasure of a customer's
// personal data where no law requires it to be kept, and the retention
// periods after which issued documents are purged.
//
// Erasure and retention meet at issued documents: an invoice or credit
// note that was issued keeps the buyer as it stood (a legal record, e.g.
// §147 AO, §257 HGB, art. 233 of the VAT directive) until the retention
// period of its class ends; then Purge removes the document, its credit
// notes and its payments together, and the audit log records it.
package privacy

import (
	"context"
	"time"

	"bursar/internal/audit"
	"bursar/internal/civil"
	"bursar/internal/customer"
	"bursar/internal/invoice"
	"bursar/internal/org"
)

// Class is a class of document with its own retention period.
type Class string

// The document classes. The audit log is none of them: it is append-only,
// holds personal values only as keyed hashes, and is kept whole, since a
// purged entry would break the Merkle tree that proves the rest intact.
const (
	Invoices    Class = "invoices"
	CreditNotes Class = "credit_notes"
	Payments    Class = "payments"
)

// Classes lists every class, in a fixed order.
var Classes = []Class{Invoices, CreditNotes, Payments}

// Retention bounds, in years.
const (
	DefaultYears = 10
	MinYears     = 1
	MaxYears     = 100
)

// Policy is an organization's retention period for one class.
type Policy struct {
	Class Class `json:"class"`
	Years int   `json:"years"`
	// Default is true when the organization has not set the class, and
	// Years is DefaultYears.
	Default   bool       `json:"default"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// Unit is what Purge removes at once: an invoice with its credit notes and
// payments, which refer to it.
type Unit struct {
	InvoiceID     string   `json:"invoice_id"`
	Number        string   `json:"number"`
	CustomerID    string   `json:"customer_id"`
	CreditNoteIDs []string `json:"credit_note_ids"`
	PaymentIDs    []string `json:"payment_ids"`
}

// Store is what the privacy package needs from storage. Writes run in the
// transaction that InTx carries in the context; an object of another
// organization is reported as not found.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	GetOrganization(ctx context.Context, orgID string) (*org.Organization, error)
	ListOrganizationIDs(ctx context.Context) ([]string, error)
	GetCustomer(ctx context.Context, orgID, id string) (*customer.Customer, error)
	UpdateCustomer(ctx context.Context, c *customer.Customer) error
	// CustomerErasedAt returns when the customer was erased, nil if it was
	// not; with lock, it also locks the customer's row until the
	// transaction ends, so that an erasure and a new invoice take turns.
	CustomerErasedAt(ctx context.Context, orgID, id string, lock bool) (*time.Time, error)
	// MarkCustomerErased records the time of the customer's erasure.
	MarkCustomerErased(ctx context.Context, orgID, id string, at time.Time) error
	// DeleteCustomerDrafts deletes the customer's draft invoices and
	// returns their identifiers.
	DeleteCustomerDrafts(ctx context.Context, orgID, customerID string) ([]string, error)
	ListInvoices(ctx context.Context, orgID string, f invoice.Filter) ([]*invoice.Invoice, error)
	ListCreditNotes(ctx context.Context, orgID string, f invoice.Filter) ([]*invoice.CreditNote, error)
	ListPayments(ctx context.Context, orgID string, f invoice.Filter) ([]*invoice.Payment, error)
	ListAuditEntries(ctx context.Context, f audit.Filter) ([]*audit.Stored, error)

	// RetentionYears returns the classes the organization has set, with
	// their periods and when they were set.
	RetentionYears(ctx context.Context, orgID string) (map[Class]Policy, error)
	SetRetentionYears(ctx context.Context, orgID string, c Class, years int, at time.Time) error
	// ExpiredUnits lists the organization's issued invoices whose issue
	// date is before cutoffs[Invoices] and all of whose credit notes and
	// payments are dated before their classes' cutoffs, at most limit.
	ExpiredUnits(ctx context.Context, orgID string, cutoffs map[Class]civil.Date, limit int) ([]Unit, error)
	// DeleteUnit deletes the payments, credit notes and invoice of u.
	DeleteUnit(ctx context.Context, orgID string, u Unit) error
	// LockPurge takes, in the transaction of ctx, the lock under which
	// the purges of every process take turns, held until it ends.
	LockPurge(ctx context.Context) error
	// EraseIdempotentResponses replaces the organization's stored
	// responses to idempotent requests (kept for replays) that mention
	// any of the identifiers with a response that holds nothing, and
	// returns how many it replaced.
	EraseIdempotentResponses(ctx context.Context, orgID string, mentions []string) (int, error)
}
