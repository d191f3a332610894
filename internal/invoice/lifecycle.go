package invoice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bursar/internal/civil"
	"bursar/internal/errs"
	"bursar/internal/money"
)

// FormatNumber expands a number pattern such as "INV-{YYYY}-{SEQ:5}" for
// the date and sequence value. It also returns the series key: the pattern
// expanded for everything but the sequence, so that a pattern with {YYYY}
// starts a new gap-free series every year.
func FormatNumber(pattern string, d civil.Date, seq int64) (number, series string) {
	r := strings.NewReplacer("{YYYY}", fmt.Sprintf("%04d", d.Year), "{YY}", fmt.Sprintf("%02d", d.Year%100),
		"{MM}", fmt.Sprintf("%02d", int(d.Month)))
	series = r.Replace(pattern)
	number = series
	if i := strings.Index(number, "{SEQ"); i >= 0 {
		j := strings.IndexByte(number[i:], '}') + i
		width := 1
		if tok := number[i+1 : j]; strings.HasPrefix(tok, "SEQ:") {
			width, _ = strconv.Atoi(tok[4:])
		}
		number = number[:i] + fmt.Sprintf("%0*d", width, seq) + number[j+1:]
	}
	return number, series
}

// hashContent returns the SHA-256 of the canonical JSON of what a
// finalized document says. JSON of a Go struct is canonical: fields in
// declaration order, no maps.
func hashContent(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// frozen is the content of a finalized invoice that the hash covers.
type frozen struct {
	Number           string
	CustomerID       string
	Buyer            Buyer
	Seller           Seller
	IssueDate        string
	DueDate          string
	BuyerReference   string
	PurchaseOrder    string
	Notes            string
	Footer           string
	Currency         money.Currency
	PricesIncludeTax bool
	Lines            []Line
	Allowances       []AllowanceCharge
	Charges          []AllowanceCharge
	TaxExclusive     string
	Tax              string
	TaxInclusive     string
	Taxes            []TaxSubtotal
}

// ContentHashOf recomputes the hash of a finalized invoice's content; it
// equals inv.ContentHash unless the stored content was altered.
func ContentHashOf(inv *Invoice) (string, error) {
	return hashContent(frozen{inv.Number, inv.CustomerID, inv.Buyer, inv.Seller, inv.IssueDate.String(), inv.DueDate.String(),
		inv.BuyerReference, inv.PurchaseOrder, inv.Notes, inv.Footer, inv.Currency, inv.PricesIncludeTax, inv.Lines,
		inv.Allowances, inv.Charges, inv.Totals.TaxExclusive.String(), inv.Totals.Tax.String(),
		inv.Totals.TaxInclusive.String(), inv.Taxes})
}

// location returns the organization's time zone, UTC if it cannot load.
func location(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

type loadedKey struct{}

// WithLoaded returns a context under which the lifecycle transitions
// (Finalize, Void, MarkUncollectible) call fn with the invoice as they
// loaded it under lock, before they change it, so that a caller that
// records what changed needs no second read. fn must not keep inv: the
// transition goes on to change it.
func WithLoaded(ctx context.Context, fn func(inv *Invoice)) context.Context {
	return context.WithValue(ctx, loadedKey{}, fn)
}

// transition loads an invoice under lock, lets change alter it, and saves
// it, all in one transaction.
func (s *Service) transition(ctx context.Context, orgID, id string, change func(ctx context.Context, inv *Invoice, now time.Time) error) (*Invoice, error) {
	var inv *Invoice
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		var err error
		inv, err = s.Store.GetInvoice(ctx, orgID, id, true)
		if err != nil {
			return err
		}
		if loaded, ok := ctx.Value(loadedKey{}).(func(*Invoice)); ok {
			loaded(inv)
		}
		now := s.Now().UTC()
		if err := change(ctx, inv, now); err != nil {
			return err
		}
		inv.UpdatedAt = now
		return s.Store.UpdateInvoice(ctx, inv)
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// Finalize turns a draft into an open invoice: it takes the next gap-free
// number of the organization's series, freezes buyer, seller and content,
// records the content hash, and applies the customer's credit balance.
func (s *Service) Finalize(ctx context.Context, orgID, id string) (*Invoice, error) {
	return s.transition(ctx, orgID, id, func(ctx context.Context, inv *Invoice, now time.Time) error {
		if inv.Status != StatusDraft {
			return errFinalized(id)
		}
		var f errs.Fields
		if len(inv.Lines) == 0 {
			f.Add("lines", "an invoice needs at least one line to be finalized")
		}
		if inv.Totals.TaxInclusive.Sign() < 0 {
			f.Add("lines", "an invoice total cannot be negative; issue a credit note instead")
		}
		if err := f.Err(); err != nil {
			return err
		}
		o, cus, err := s.Store.GetParties(ctx, orgID, inv.CustomerID)
		if err != nil {
			return err
		}
		inv.Buyer, inv.Seller = buyerOf(cus), sellerOf(o)
		if inv.IssueDate.IsZero() {
			inv.IssueDate = civil.Today(now, location(o.TimeZone))
		}
		if inv.DueDate.IsZero() {
			terms := cus.PaymentTermsDays
			if inv.PaymentTermsDays != nil {
				terms = *inv.PaymentTermsDays
			}
			inv.DueDate = inv.IssueDate.AddDays(terms)
		}
		_, series := FormatNumber(o.InvoiceSeries, inv.IssueDate, 0)
		seq, err := s.Store.NextNumber(ctx, orgID, "invoice:"+series)
		if err != nil {
			return err
		}
		inv.Number, _ = FormatNumber(o.InvoiceSeries, inv.IssueDate, seq)
		// The customer's credit balance pays what it can, as Stripe does.
		if cus.CreditBalance > 0 && cus.Currency == inv.Currency && inv.Totals.Due.Sign() > 0 {
			due, _ := inv.Currency.Minor(inv.Totals.Due)
			use := min(due, cus.CreditBalance)
			if err := s.Store.AddCustomerCredit(ctx, orgID, cus.ID, -use); err != nil {
				return err
			}
			inv.CreditApplied = inv.Currency.Amount(use)
		}
		inv.Status = StatusOpen
		inv.FinalizedAt = &now
		if err := s.settle(inv, now); err != nil {
			return err
		}
		// The hash covers content that no payment changes, computed
		// once the totals are final.
		inv.ContentHash, err = ContentHashOf(inv)
		return err
	})
}

// settle recomputes what is due and marks the invoice paid when nothing is.
func (s *Service) settle(inv *Invoice, now time.Time) error {
	if err := inv.Calculate(inv.paid()); err != nil {
		return err
	}
	if inv.Totals.Due.Sign() <= 0 && (inv.Status == StatusOpen || inv.Status == StatusUncollectible) {
		inv.Status = StatusPaid
		inv.PaidAt = &now
	}
	return nil
}

// Void cancels an open or uncollectible invoice that has received nothing.
// It keeps its number: numbers are never reused.
func (s *Service) Void(ctx context.Context, orgID, id string) (*Invoice, error) {
	return s.transition(ctx, orgID, id, func(ctx context.Context, inv *Invoice, now time.Time) error {
		switch {
		case inv.Status == StatusDraft:
			return errs.E(errs.Conflict, "invoice_draft", "a draft has no number to void; delete it instead")
		case inv.Status != StatusOpen && inv.Status != StatusUncollectible:
			return errs.E(errs.Conflict, "invoice_not_voidable", "invoice %s is %s and cannot be voided", id, inv.Status)
		case !inv.AmountPaid.IsZero() || !inv.AmountCredited.IsZero():
			return errs.E(errs.Conflict, "invoice_has_payments", "invoice %s has payments or credit notes; issue a credit note instead", id)
		}
		// Credit balance the invoice used goes back to the customer.
		if !inv.CreditApplied.IsZero() {
			back, _ := inv.Currency.Minor(inv.CreditApplied)
			if err := s.Store.AddCustomerCredit(ctx, orgID, inv.CustomerID, back); err != nil {
				return err
			}
			inv.CreditApplied = money.Zero
			if err := inv.Calculate(inv.paid()); err != nil {
				return err
			}
		}
		inv.Status = StatusVoid
		inv.VoidedAt = &now
		return nil
	})
}

// MarkUncollectible writes off an open invoice; it may still be paid later.
func (s *Service) MarkUncollectible(ctx context.Context, orgID, id string) (*Invoice, error) {
	return s.transition(ctx, orgID, id, func(ctx context.Context, inv *Invoice, now time.Time) error {
		if inv.Status != StatusOpen {
			return errs.E(errs.Conflict, "invoice_not_open", "only an open invoice can be marked uncollectible; invoice %s is %s", id, inv.Status)
		}
		inv.Status = StatusUncollectible
		return nil
	})
}

// IsOverdue reports whether an open invoice is past its due date in the
// organization's time zone.
func (inv *Invoice) IsOverdue(now time.Time, tz string) bool {
	return (inv.Status == StatusOpen || inv.Status == StatusUncollectible) && !inv.DueDate.IsZero() &&
		inv.DueDate.Before(civil.Today(now, location(tz)))
}
