package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"bursar/internal/audit"
	"bursar/internal/civil"
	"bursar/internal/customer"
	"bursar/internal/errs"
	"bursar/internal/invoice"
	"bursar/internal/money"
	"bursar/internal/page"
)

// Service runs the data protection rules against a Store.
type Service struct {
	Store Store
	Now   func() time.Time
}

// ExportSchema names the format of an Export; ExportVersion is its
// version, raised on any change that a reader would notice.
const (
	ExportSchema  = "bursar.customer-export"
	ExportVersion = 1
)

// Export is everything Bursar holds about a customer (GDPR articles 15 and
// 20). Audit entries appear as the log holds them: personal values only
// as keyed hashes.
type Export struct {
	Schema      string                `json:"schema"`
	Version     int                   `json:"version"`
	ExportedAt  time.Time             `json:"exported_at"`
	Customer    ExportedCustomer      `json:"customer"`
	Invoices    []*invoice.Invoice    `json:"invoices"`
	CreditNotes []*invoice.CreditNote `json:"credit_notes"`
	Payments    []*invoice.Payment    `json:"payments"`
	AuditEvents []ExportedAuditEvent  `json:"audit_events"`
}

// ExportedCustomer is the customer record with its credit balance and the
// time of its erasure, if any.
type ExportedCustomer struct {
	*customer.Customer
	CreditBalance money.Decimal `json:"credit_balance"`
	ErasedAt      *time.Time    `json:"erased_at"`
}

// ExportedAuditEvent is one entry of the audit log about the customer or
// one of its documents, with the leaf that the Merkle tree hashes.
type ExportedAuditEvent struct {
	ID    string       `json:"id"`
	Entry *audit.Entry `json:"entry"`
	Leaf  string       `json:"leaf"`
}

// Export gathers everything held about the customer.
func (s *Service) Export(ctx context.Context, orgID, customerID string) (*Export, error) {
	c, err := s.Store.GetCustomer(ctx, orgID, customerID)
	if err != nil {
		return nil, err
	}
	erased, err := s.Store.CustomerErasedAt(ctx, orgID, customerID, false)
	if err != nil {
		return nil, err
	}
	x := &Export{Schema: ExportSchema, Version: ExportVersion, ExportedAt: s.Now().UTC(),
		Customer: ExportedCustomer{Customer: c, CreditBalance: c.Currency.Amount(c.CreditBalance), ErasedAt: erased}}
	f := invoice.Filter{CustomerID: customerID}
	if x.Invoices, err = all(func(p page.Params) ([]*invoice.Invoice, error) {
		f.Params = p
		return s.Store.ListInvoices(ctx, orgID, f)
	}, func(v *invoice.Invoice) string { return v.ID }); err != nil {
		return nil, err
	}
	if x.CreditNotes, err = all(func(p page.Params) ([]*invoice.CreditNote, error) {
		f.Params = p
		return s.Store.ListCreditNotes(ctx, orgID, f)
	}, func(v *invoice.CreditNote) string { return v.ID }); err != nil {
		return nil, err
	}
	if x.Payments, err = all(func(p page.Params) ([]*invoice.Payment, error) {
		f.Params = p
		return s.Store.ListPayments(ctx, orgID, f)
	}, func(v *invoice.Payment) string { return v.ID }); err != nil {
		return nil, err
	}
	objects := [][2]string{{"customer", customerID}}
	for _, v := range x.Invoices {
		objects = append(objects, [2]string{"invoice", v.ID})
	}
	for _, v := range x.CreditNotes {
		objects = append(objects, [2]string{"credit_note", v.ID})
	}
	for _, v := range x.Payments {
		objects = append(objects, [2]string{"payment", v.ID})
	}
	for _, o := range objects {
		af := audit.Filter{Tree: orgID, ObjectType: o[0], ObjectID: o[1]}
		entries, err := all(func(p page.Params) ([]*audit.Stored, error) {
			af.Params = p
			return s.Store.ListAuditEntries(ctx, af)
		}, func(v *audit.Stored) string { return audit.EntryID(v.Entry.Index) })
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			x.AuditEvents = append(x.AuditEvents, ExportedAuditEvent{ID: audit.EntryID(e.Entry.Index), Entry: e.Entry, Leaf: string(e.Leaf)})
		}
	}
	// The log's order: entries about several objects interleave in time.
	slices.SortFunc(x.AuditEvents, func(a, b ExportedAuditEvent) int {
		return int(a.Entry.Index - b.Entry.Index)
	})
	if x.AuditEvents == nil {
		x.AuditEvents = []ExportedAuditEvent{}
	}
	return x, nil
}

// all reads every page of a list, newest first.
func all[T any](fetch func(page.Params) ([]T, error), id func(T) string) ([]T, error) {
	out := []T{}
	p := page.Params{Limit: page.MaxLimit}
	for {
		items, err := fetch(p)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) < p.Size() {
			return out, nil
		}
		p.StartingAfter = id(items[len(items)-1])
	}
}

// ErasedName replaces the name of an erased customer: a name is required,
// and the placeholder says why there is none.
const ErasedName = "(erased)"

// Erasure is the outcome of Erase.
type Erasure struct {
	CustomerID string    `json:"customer_id"`
	ErasedAt   time.Time `json:"erased_at"`
	// DraftsDeleted are the draft invoices deleted by this call; issued
	// documents keep their buyer until their retention ends.
	DraftsDeleted []string `json:"drafts_deleted"`
	// AlreadyErased is true when an earlier call erased the customer, and
	// this one changed nothing.
	AlreadyErased bool `json:"already_erased"`
}

// Erase removes the customer's personal data where no law requires it to
// be kept (GDPR article 17): the customer record keeps only what is not
// personal (currency, terms, locale, credit balance), its draft invoices
// are deleted, and the customer is marked erased, so that it can no longer
// be invoiced. Issued invoices and credit notes keep the buyer as it
// stood until Purge removes them. It runs in the transaction of ctx, and
// returns the audit entry that records it, which holds no personal value.
// A second call changes nothing.
func (s *Service) Erase(ctx context.Context, orgID, customerID string) (*Erasure, *audit.Entry, error) {
	var out *Erasure
	var entry *audit.Entry
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		erased, err := s.Store.CustomerErasedAt(ctx, orgID, customerID, true)
		if err != nil {
			return err
		}
		if erased != nil {
			out = &Erasure{CustomerID: customerID, ErasedAt: *erased, DraftsDeleted: []string{}, AlreadyErased: true}
			return nil
		}
		c, err := s.Store.GetCustomer(ctx, orgID, customerID)
		if err != nil {
			return err
		}
		// The store keeps microseconds: a repeated call must answer the same.
		now := s.Now().UTC().Truncate(time.Microsecond)
		c.Name, c.Email, c.CCEmails, c.TaxID, c.Notes = ErasedName, "", []string{}, "", ""
		c.Address.Line1, c.Address.Line2, c.Address.City, c.Address.PostalCode, c.Address.Region = "", "", "", "", ""
		c.UpdatedAt = now
		if err := s.Store.UpdateCustomer(ctx, c); err != nil {
			return err
		}
		// Responses kept for idempotent replays hold the customer as the
		// first request saw it: a customer's or one of its documents'.
		mentions, err := s.documentIDs(ctx, orgID, customerID)
		if err != nil {
			return err
		}
		replays, err := s.Store.EraseIdempotentResponses(ctx, orgID, append(mentions, customerID))
		if err != nil {
			return err
		}
		drafts, err := s.Store.DeleteCustomerDrafts(ctx, orgID, customerID)
		if err != nil {
			return err
		}
		if err := s.Store.MarkCustomerErased(ctx, orgID, customerID, now); err != nil {
			return err
		}
		out = &Erasure{CustomerID: customerID, ErasedAt: now, DraftsDeleted: drafts}
		entry = &audit.Entry{Action: "customer.erased", ObjectType: "customer", ObjectID: customerID,
			Fields: []audit.Field{{Name: "drafts_deleted", Value: mustJSON(drafts)}, {Name: "erased_at", Value: mustJSON(now)},
				{Name: "idempotent_responses_erased", Value: mustJSON(replays)}}}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, entry, nil
}

// documentIDs lists the identifiers of the customer's invoices (drafts
// too), credit notes and payments.
func (s *Service) documentIDs(ctx context.Context, orgID, customerID string) ([]string, error) {
	var ids []string
	f := invoice.Filter{CustomerID: customerID}
	invoices, err := all(func(p page.Params) ([]*invoice.Invoice, error) {
		f.Params = p
		return s.Store.ListInvoices(ctx, orgID, f)
	}, func(v *invoice.Invoice) string { return v.ID })
	if err != nil {
		return nil, err
	}
	for _, v := range invoices {
		ids = append(ids, v.ID)
	}
	notes, err := all(func(p page.Params) ([]*invoice.CreditNote, error) {
		f.Params = p
		return s.Store.ListCreditNotes(ctx, orgID, f)
	}, func(v *invoice.CreditNote) string { return v.ID })
	if err != nil {
		return nil, err
	}
	for _, v := range notes {
		ids = append(ids, v.ID)
	}
	payments, err := all(func(p page.Params) ([]*invoice.Payment, error) {
		f.Params = p
		return s.Store.ListPayments(ctx, orgID, f)
	}, func(v *invoice.Payment) string { return v.ID })
	if err != nil {
		return nil, err
	}
	for _, v := range payments {
		ids = append(ids, v.ID)
	}
	return ids, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("privacy: encode %T: %v", v, err)) // strings and times always encode
	}
	return b
}

// Retention returns the organization's retention period of every class.
func (s *Service) Retention(ctx context.Context, orgID string) ([]Policy, error) {
	if _, err := s.Store.GetOrganization(ctx, orgID); err != nil {
		return nil, err
	}
	set, err := s.Store.RetentionYears(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]Policy, 0, len(Classes))
	for _, c := range Classes {
		p, ok := set[c]
		if !ok {
			p = Policy{Class: c, Years: DefaultYears, Default: true}
		}
		out = append(out, p)
	}
	return out, nil
}

// SetRetention validates and stores periods for some classes, in the
// transaction of ctx, and returns every class's period before and after.
func (s *Service) SetRetention(ctx context.Context, orgID string, years map[Class]int) (before, after []Policy, err error) {
	var f errs.Fields
	for _, c := range slices.Sorted(maps.Keys(years)) {
		switch {
		case !slices.Contains(Classes, c):
			f.Add(string(c), "is not a document class: want invoices, credit_notes or payments")
		case years[c] < MinYears || years[c] > MaxYears:
			f.Add(string(c), "must be between %d and %d years", MinYears, MaxYears)
		}
	}
	if err := f.Err(); err != nil {
		return nil, nil, err
	}
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		if before, err = s.Retention(ctx, orgID); err != nil {
			return err
		}
		now := s.Now().UTC()
		for _, c := range Classes {
			if y, ok := years[c]; ok {
				if err := s.Store.SetRetentionYears(ctx, orgID, c, y, now); err != nil {
					return err
				}
			}
		}
		after, err = s.Retention(ctx, orgID)
		return err
	})
	return before, after, err
}

// Cutoffs returns, for each class, the first date whose documents are
// still kept on the day now, in loc: a period runs from the end of the
// calendar year of the document's date (as §147 AO and §257 HGB count),
// so a document of 2015 kept 10 years is kept to the end of 2025.
func Cutoffs(policies []Policy, now time.Time, loc *time.Location) map[Class]civil.Date {
	year := now.In(loc).Year()
	out := map[Class]civil.Date{}
	for _, p := range policies {
		out[p.Class] = civil.Date{Year: year - p.Years, Month: time.January, Day: 1}
	}
	return out
}
