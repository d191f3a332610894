package invoice

import (
	"context"
	"strings"
	"time"

	"bursar/internal/civil"
	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/money"
)

// PaymentMethods are the methods a payment may name.
var PaymentMethods = []string{"bank_transfer", "card", "cash", "check", "direct_debit", "other"}

// RecordPayment records money received for a finalized invoice. What the
// invoice does not need of it becomes the customer's credit balance, which
// the next invoice uses.
func (s *Service) RecordPayment(ctx context.Context, orgID, invoiceID string, in PaymentInput) (*Payment, *Invoice, error) {
	var f errs.Fields
	amount, err := money.Parse(in.Amount)
	switch {
	case in.Amount == "":
		f.Add("amount", "is required")
	case err != nil:
		f.Add("amount", "must be a decimal string such as \"100.00\"")
	case amount.Sign() <= 0:
		f.Add("amount", "must be greater than 0")
	case amount.Cmp(MaxAmount) >= 0:
		f.Add("amount", "must be less than 10^15")
	}
	var date civil.Date
	if in.Date != "" {
		if date, err = civil.Parse(in.Date); err != nil {
			f.Add("date", "must be a date that exists, written YYYY-MM-DD")
		}
	}
	method := in.Method
	if method == "" {
		method = "bank_transfer"
	}
	known := false
	for _, m := range PaymentMethods {
		known = known || m == method
	}
	if !known {
		f.Add("method", "must be one of %s", strings.Join(PaymentMethods, ", "))
	}
	if len(in.Reference) > 200 {
		f.Add("reference", "must be at most 200 characters")
	}
	if err := f.Err(); err != nil {
		return nil, nil, err
	}
	var p *Payment
	inv, err := s.transition(ctx, orgID, invoiceID, func(ctx context.Context, inv *Invoice, now time.Time) error {
		if inv.Status != StatusOpen && inv.Status != StatusUncollectible {
			return errs.E(errs.Conflict, "invoice_not_payable", "invoice %s is %s; only open or uncollectible invoices take payments", invoiceID, inv.Status)
		}
		if amount.Scale() > inv.Currency.Digits() && !inv.Currency.Round(amount).Equal(amount) {
			var f errs.Fields
			f.Add("amount", "must have at most %d fraction digits for %s", inv.Currency.Digits(), inv.Currency)
			return f.Err()
		}
		amt := inv.Currency.Round(amount)
		applied := amt
		if applied.Cmp(inv.Totals.Due) > 0 {
			applied = inv.Totals.Due
		}
		over := amt.Sub(applied)
		if over.Sign() > 0 {
			cus, err := s.Store.GetCustomer(ctx, orgID, inv.CustomerID)
			if err != nil {
				return err
			}
			if cus.Currency != inv.Currency {
				var f errs.Fields
				f.Add("amount", "exceeds the %s due and the customer's credit balance is kept in %s", inv.Totals.Due, cus.Currency)
				return f.Err()
			}
			minor, _ := inv.Currency.Minor(over)
			if err := s.Store.AddCustomerCredit(ctx, orgID, cus.ID, minor); err != nil {
				return err
			}
		}
		pdate := date
		if pdate.IsZero() {
			pdate = civil.Of(now)
		}
		p = &Payment{ID: ident.New("pay", now), OrgID: orgID, InvoiceID: inv.ID, CustomerID: inv.CustomerID,
			Amount: amt, Currency: inv.Currency, Date: pdate, Method: method, Reference: in.Reference,
			AppliedToInvoice: applied, CreditedToCustomer: over.Round(inv.Currency.Digits()), CreatedAt: now}
		if err := s.Store.InsertPayment(ctx, p); err != nil {
			return err
		}
		inv.AmountPaid = inv.AmountPaid.Add(applied)
		return s.settle(inv, now)
	})
	if err != nil {
		return nil, nil, err
	}
	return p, inv, nil
}

// GetPayment returns one payment.
func (s *Service) GetPayment(ctx context.Context, orgID, id string) (*Payment, error) {
	return s.Store.GetPayment(ctx, orgID, id)
}

// ListPayments lists payments, newest first.
func (s *Service) ListPayments(ctx context.Context, orgID string, f Filter) ([]*Payment, error) {
	return s.Store.ListPayments(ctx, orgID, f)
}

// CreateCreditNote issues a credit note against a finalized invoice: all of
// it when in has no lines, else the lines given. The credit reduces what the
// invoice still owes; the rest goes to the customer's credit balance. The
// credit notes of an invoice never add up to more than its total.
func (s *Service) CreateCreditNote(ctx context.Context, orgID string, in CreditNoteInput) (*CreditNote, error) {
	var cn *CreditNote
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		var f errs.Fields
		if in.InvoiceID == "" {
			f.Add("invoice_id", "is required")
		}
		in.Reason = strings.TrimSpace(in.Reason)
		if len(in.Reason) > 500 {
			f.Add("reason", "must be at most 500 characters")
		}
		var issue civil.Date
		if in.IssueDate != "" {
			d, err := civil.Parse(in.IssueDate)
			if err != nil {
				f.Add("issue_date", "must be a date that exists, written YYYY-MM-DD")
			}
			issue = d
		}
		if err := f.Err(); err != nil {
			return err
		}
		inv, err := s.Store.GetInvoice(ctx, orgID, in.InvoiceID, true)
		if errs.KindOf(err) == errs.NotFound {
			f.Add("invoice_id", "no such invoice")
			return f.Err()
		}
		if err != nil {
			return err
		}
		if inv.Status == StatusDraft || inv.Status == StatusVoid {
			return errs.E(errs.Conflict, "invoice_not_creditable", "invoice %s is %s; only finalized, non-void invoices take credit notes", inv.ID, inv.Status)
		}
		now := s.Now().UTC()
		doc := Document{Currency: inv.Currency, PricesIncludeTax: inv.PricesIncludeTax}
		if len(in.Lines) == 0 {
			if len(in.Allowances) > 0 || len(in.Charges) > 0 {
				f.Add("lines", "are required when allowances or charges are given")
				return f.Err()
			}
			doc.Lines, doc.Allowances, doc.Charges = inv.Lines, inv.Allowances, inv.Charges
		} else {
			r := newResolver(ctx, s.Store, orgID)
			doc.Lines = r.lines(in.Lines, "lines", false)
			doc.Allowances = r.allowancesCharges(in.Allowances, "allowances")
			doc.Charges = r.allowancesCharges(in.Charges, "charges")
			if r.err != nil {
				return r.err
			}
			if err := r.f.Err(); err != nil {
				return err
			}
		}
		if err := calculate(&doc, money.Zero); err != nil {
			return err
		}
		total := doc.Totals.TaxInclusive
		if total.Sign() <= 0 {
			f.Add("lines", "a credit note must credit more than 0")
			return f.Err()
		}
		credited, err := s.creditedSoFar(ctx, orgID, inv.ID)
		if err != nil {
			return err
		}
		if left := inv.Totals.TaxInclusive.Sub(credited); total.Cmp(left) > 0 {
			f.Add("lines", "the credit note total %s exceeds the %s left to credit on invoice %s", total, left, inv.Number)
			return f.Err()
		}
		o, err := s.Store.GetOrganization(ctx, orgID)
		if err != nil {
			return err
		}
		if issue.IsZero() {
			issue = civil.Today(now, location(o.TimeZone))
		}
		_, series := FormatNumber(o.CreditNoteSeries, issue, 0)
		seq, err := s.Store.NextNumber(ctx, orgID, "credit_note:"+series)
		if err != nil {
			return err
		}
		number, _ := FormatNumber(o.CreditNoteSeries, issue, seq)
		applied := total
		if inv.Status == StatusPaid || inv.Totals.Due.Sign() <= 0 {
			applied = money.Zero.Round(inv.Currency.Digits())
		} else if applied.Cmp(inv.Totals.Due) > 0 {
			applied = inv.Totals.Due
		}
		rest := total.Sub(applied)
		cn = &CreditNote{ID: ident.New("cn", now), OrgID: orgID, Number: number, InvoiceID: inv.ID, Buyer: inv.Buyer,
			Seller: sellerOf(o), IssueDate: issue, Reason: in.Reason, Document: doc, AppliedToInvoice: applied,
			CreditedToCustomer: rest, CreatedAt: now}
		if cn.ContentHash, err = hashContent(cn); err != nil {
			return err
		}
		if rest.Sign() > 0 {
			minor, _ := inv.Currency.Minor(rest)
			if err := s.Store.AddCustomerCredit(ctx, orgID, inv.CustomerID, minor); err != nil {
				return err
			}
		}
		if err := s.Store.InsertCreditNote(ctx, cn); err != nil {
			return err
		}
		inv.AmountCredited = inv.AmountCredited.Add(applied)
		if err := s.settle(inv, now); err != nil {
			return err
		}
		inv.UpdatedAt = now
		return s.Store.UpdateInvoice(ctx, inv)
	})
	if err != nil {
		return nil, err
	}
	return cn, nil
}

// creditedSoFar sums the credit notes already issued against an invoice.
func (s *Service) creditedSoFar(ctx context.Context, orgID, invoiceID string) (money.Decimal, error) {
	sum := money.Zero
	f := Filter{InvoiceID: invoiceID}
	f.Limit = 100
	for {
		cns, err := s.Store.ListCreditNotes(ctx, orgID, f)
		if err != nil {
			return sum, err
		}
		for _, c := range cns {
			sum = sum.Add(c.Totals.TaxInclusive)
		}
		if len(cns) < f.Limit {
			return sum, nil
		}
		f.StartingAfter = cns[len(cns)-1].ID
	}
}

// GetCreditNote returns one credit note.
func (s *Service) GetCreditNote(ctx context.Context, orgID, id string) (*CreditNote, error) {
	return s.Store.GetCreditNote(ctx, orgID, id)
}

// ListCreditNotes lists credit notes, newest first.
func (s *Service) ListCreditNotes(ctx context.Context, orgID string, f Filter) ([]*CreditNote, error) {
	return s.Store.ListCreditNotes(ctx, orgID, f)
}
