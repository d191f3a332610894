package invoice

import (
	"context"
	"strconv"
	"strings"
	"time"

	"bursar/internal/catalog"
	"bursar/internal/civil"
	"bursar/internal/customer"
	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/money"
	"bursar/internal/org"
)

// hundred bounds percentages.
var hundred = money.NewFromInt(100)

// errFinalized is the answer to any attempt to change a finalized invoice.
func errFinalized(id string) error {
	return errs.E(errs.Conflict, "invoice_finalized", "invoice %s is finalized and cannot change; issue a credit note to correct it", id)
}

// resolver turns API input into document content, looking up tax rates and
// products of the organization once each.
type resolver struct {
	ctx      context.Context
	store    Store
	orgID    string
	f        errs.Fields
	taxes    map[string]*catalog.TaxRate
	products map[string]*catalog.Product
	taxed    bool
	groups   map[string]Tax // one tax of each (category, rate) group of the lines
	err      error          // a storage failure, which ends the resolution
}

func newResolver(ctx context.Context, s Store, orgID string) *resolver {
	return &resolver{ctx: ctx, store: s, orgID: orgID, taxes: map[string]*catalog.TaxRate{},
		products: map[string]*catalog.Product{}, groups: map[string]Tax{}}
}

func (r *resolver) taxRate(field, id string) (Tax, bool) {
	t, ok := r.taxes[id]
	if !ok {
		var err error
		t, err = r.store.GetTaxRate(r.ctx, r.orgID, id)
		if errs.KindOf(err) == errs.NotFound {
			t = nil
		} else if err != nil {
			r.err = err
			return Tax{}, false
		}
		r.taxes[id] = t
	}
	if t == nil {
		r.f.Add(field, "no such tax rate")
		return Tax{}, false
	}
	if !t.Active {
		r.f.Add(field, "tax rate %s is not active", id)
		return Tax{}, false
	}
	return Tax{TaxRateID: t.ID, Name: t.Name, Category: t.Category, Percentage: t.Percentage,
		ExemptionReason: t.ExemptionReason, ExemptionReasonCode: t.ExemptionReasonCode}, true
}

func (r *resolver) product(field, id string) *catalog.Product {
	p, ok := r.products[id]
	if !ok {
		var err error
		p, err = r.store.GetProduct(r.ctx, r.orgID, id)
		if errs.KindOf(err) == errs.NotFound {
			p = nil
		} else if err != nil {
			r.err = err
			return nil
		}
		r.products[id] = p
	}
	if p == nil {
		r.f.Add(field, "no such product")
	}
	return p
}

// decimal parses an optional decimal field; empty gives zero.
func (r *resolver) decimal(field, s string, required bool) money.Decimal {
	if s == "" {
		if required {
			r.f.Add(field, "is required")
		}
		return money.Zero
	}
	d, err := money.Parse(s)
	if err != nil {
		r.f.Add(field, "must be a decimal string such as \"12.50\" (digits, an optional minus sign and point; no exponent, comma or spaces)")
		return money.Zero
	}
	if d.Abs().Cmp(MaxAmount) >= 0 {
		r.f.Add(field, "must be less than 10^15 in magnitude")
		return money.Zero
	}
	return d
}

func groupKey(t Tax) string { return t.Category + "/" + t.Percentage.Trim().String() }

// lines resolves line inputs. Credit notes refuse negative quantities: a
// credit note credits, it never charges.
func (r *resolver) lines(in []LineInput, prefix string, allowNegative bool) []Line {
	if len(in) > MaxLines {
		r.f.Add(prefix, "must have at most %d lines", MaxLines)
		return nil
	}
	out := make([]Line, 0, len(in))
	for i, li := range in {
		p := prefix + "[" + strconv.Itoa(i) + "]"
		var l Line
		unknownProduct := false
		if li.ProductID != "" {
			prod := r.product(p+".product_id", li.ProductID)
			unknownProduct = prod == nil
			if prod != nil {
				l.ProductID = prod.ID
				if li.Description == "" {
					li.Description = prod.Name
				}
				if li.Unit == "" {
					li.Unit = prod.Unit
				}
				if li.UnitPrice == "" {
					li.UnitPrice = prod.UnitPrice.String()
				}
				if li.TaxRateIDs == nil {
					li.TaxRateIDs = prod.TaxRateIDs
				}
			}
		}
		l.Description = strings.TrimSpace(li.Description)
		switch {
		case l.Description == "" && unknownProduct:
			// The product_id error says it all.
		case l.Description == "":
			r.f.Add(p+".description", "is required")
		case len(l.Description) > 1000:
			r.f.Add(p+".description", "must be at most 1000 characters")
		}
		l.Quantity = r.decimal(p+".quantity", li.Quantity, true)
		if !allowNegative && l.Quantity.Sign() < 0 {
			r.f.Add(p+".quantity", "must not be negative")
		}
		l.Unit = li.Unit
		if l.Unit == "" {
			l.Unit = "C62"
		}
		if !catalog.ValidUnit(l.Unit) {
			r.f.Add(p+".unit", "must be a UN/ECE Recommendation 20 code such as C62, HUR or KWH")
		}
		l.UnitPrice = r.decimal(p+".unit_price", li.UnitPrice, !unknownProduct)
		if !allowNegative && l.UnitPrice.Sign() < 0 {
			r.f.Add(p+".unit_price", "must not be negative")
		}
		l.BaseQuantity = money.NewFromInt(1)
		if li.BaseQuantity != "" {
			l.BaseQuantity = r.decimal(p+".base_quantity", li.BaseQuantity, false)
			if l.BaseQuantity.Sign() <= 0 {
				r.f.Add(p+".base_quantity", "must be greater than 0")
			}
		}
		l.DiscountPercent = r.decimal(p+".discount_percent", li.DiscountPercent, false)
		if l.DiscountPercent.Sign() < 0 || l.DiscountPercent.Cmp(hundred) > 0 {
			r.f.Add(p+".discount_percent", "must be between 0 and 100")
		}
		l.DiscountAmount = r.decimal(p+".discount_amount", li.DiscountAmount, false)
		if l.DiscountAmount.Sign() < 0 {
			r.f.Add(p+".discount_amount", "must not be negative")
		}
		if !l.DiscountPercent.IsZero() && !l.DiscountAmount.IsZero() {
			r.f.Add(p+".discount_amount", "give either discount_percent or discount_amount, not both")
		}
		if len(li.TaxRateIDs) > 5 {
			r.f.Add(p+".tax_rate_ids", "must list at most 5 tax rates")
			li.TaxRateIDs = nil
		}
		seen := map[string]bool{}
		for j, id := range li.TaxRateIDs {
			tp := p + ".tax_rate_ids[" + strconv.Itoa(j) + "]"
			t, ok := r.taxRate(tp, id)
			if !ok {
				continue
			}
			if seen[groupKey(t)] {
				r.f.Add(tp, "a line cannot carry two taxes of the same category and rate")
				continue
			}
			seen[groupKey(t)] = true
			l.Taxes = append(l.Taxes, t)
			r.groups[groupKey(t)] = t
			r.taxed = true
		}
		out = append(out, l)
	}
	return out
}

// allowancesCharges resolves document allowances or charges; it runs after
// lines, so that it knows the lines' tax groups.
func (r *resolver) allowancesCharges(in []AllowanceChargeInput, prefix string) []AllowanceCharge {
	if len(in) > 100 {
		r.f.Add(prefix, "must have at most 100 entries")
		return nil
	}
	var out []AllowanceCharge
	for i, ai := range in {
		p := prefix + "[" + strconv.Itoa(i) + "]"
		var a AllowanceCharge
		a.Amount = r.decimal(p+".amount", ai.Amount, false)
		a.Percent = r.decimal(p+".percent", ai.Percent, false)
		switch {
		case (ai.Amount == "") == (ai.Percent == ""):
			r.f.Add(p+".amount", "give either amount or percent")
		case a.Amount.Sign() < 0:
			r.f.Add(p+".amount", "must not be negative")
		case a.Percent.Sign() < 0 || a.Percent.Cmp(hundred) > 0:
			r.f.Add(p+".percent", "must be between 0 and 100")
		}
		a.Reason = strings.TrimSpace(ai.Reason)
		if a.Reason == "" || len(a.Reason) > 200 {
			r.f.Add(p+".reason", "is required and must be at most 200 characters (EN 16931 BR-33, BR-38)")
		}
		switch {
		case ai.TaxRateID != "":
			if t, ok := r.taxRate(p+".tax_rate_id", ai.TaxRateID); ok {
				if _, used := r.groups[groupKey(t)]; !used {
					r.f.Add(p+".tax_rate_id", "no line carries this tax rate's category and percentage")
				}
				a.Tax = &t
			}
		case len(r.groups) == 1:
			for _, t := range r.groups {
				a.Tax = &t
			}
		case r.taxed:
			r.f.Add(p+".tax_rate_id", "is required: the lines carry several tax groups")
		}
		out = append(out, a)
	}
	return out
}

// resolve validates in and writes it onto inv (a draft).
func (s *Service) resolve(ctx context.Context, inv *Invoice, in Input) error {
	r := newResolver(ctx, s.Store, inv.OrgID)
	var cus *customer.Customer
	switch {
	case in.CustomerID == "":
		r.f.Add("customer_id", "is required")
	default:
		c, erased, err := s.Store.GetCustomerToInvoice(ctx, inv.OrgID, in.CustomerID)
		if errs.KindOf(err) == errs.NotFound {
			r.f.Add("customer_id", "no such customer")
		} else if err != nil {
			return err
		}
		if erased != nil {
			return errs.E(errs.Conflict, "customer_erased", "customer %s was erased and can no longer be invoiced", c.ID)
		}
		cus = c
	}
	cur := money.Currency(in.Currency)
	if in.Currency == "" && cus != nil {
		cur = cus.Currency
	}
	// Without a customer there is no default currency to blame.
	if !cur.Valid() && (in.Currency != "" || cus != nil) {
		r.f.Add("currency", "must be an active ISO 4217 currency code such as EUR")
	}
	var issue, due civil.Date
	if in.IssueDate != "" {
		d, err := civil.Parse(in.IssueDate)
		if err != nil {
			r.f.Add("issue_date", "must be a date that exists, written YYYY-MM-DD")
		}
		issue = d
	}
	if in.DueDate != "" {
		d, err := civil.Parse(in.DueDate)
		if err != nil {
			r.f.Add("due_date", "must be a date that exists, written YYYY-MM-DD")
		}
		due = d
	}
	if !issue.IsZero() && !due.IsZero() && due.Before(issue) {
		r.f.Add("due_date", "must not be before issue_date")
	}
	if in.PaymentTermsDays != nil && (*in.PaymentTermsDays < 0 || *in.PaymentTermsDays > 3650) {
		r.f.Add("payment_terms_days", "must be between 0 and 3650")
	}
	for _, v := range [...]struct {
		name string
		val  string
		max  int
	}{{"buyer_reference", in.BuyerReference, 200}, {"purchase_order", in.PurchaseOrder, 200}, {"notes", in.Notes, 10000}, {"footer", in.Footer, 2000}} {
		if len(v.val) > v.max {
			r.f.Add(v.name, "must be at most %d characters", v.max)
		}
	}
	lines := r.lines(in.Lines, "lines", true)
	allowances := r.allowancesCharges(in.Allowances, "allowances")
	charges := r.allowancesCharges(in.Charges, "charges")
	if r.err != nil {
		return r.err
	}
	if err := r.f.Err(); err != nil {
		return err
	}
	inv.CustomerID = cus.ID
	inv.Buyer = buyerOf(cus)
	inv.IssueDate, inv.DueDate, inv.PaymentTermsDays = issue, due, in.PaymentTermsDays
	inv.BuyerReference, inv.PurchaseOrder, inv.Notes, inv.Footer = in.BuyerReference, in.PurchaseOrder, in.Notes, in.Footer
	inv.Document = Document{Currency: cur, PricesIncludeTax: in.PricesIncludeTax, Lines: lines, Allowances: allowances, Charges: charges}
	return calculate(&inv.Document, inv.paid())
}

// calculate computes the document and refuses totals beyond the limits.
func calculate(d *Document, paid money.Decimal) error {
	if err := d.Calculate(paid); err != nil {
		return err
	}
	for _, v := range []money.Decimal{d.Totals.LinesNet, d.Totals.TaxInclusive, d.Totals.TaxExclusive} {
		if v.Abs().Cmp(MaxAmount) >= 0 {
			var f errs.Fields
			f.Add("lines", "the document's total must be less than 10^15 in magnitude")
			return f.Err()
		}
	}
	return nil
}

func buyerOf(c *customer.Customer) Buyer {
	return Buyer{CustomerID: c.ID, Name: c.Name, Email: c.Email, Address: c.Address, TaxID: c.TaxID}
}

func sellerOf(o *org.Organization) Seller {
	return Seller{Name: o.Name, Address: o.Address, VATID: o.VATID, TaxID: o.TaxID}
}

// paid is the money received against the invoice so far (BT-113).
func (inv *Invoice) paid() money.Decimal {
	return inv.AmountPaid.Add(inv.AmountCredited).Add(inv.CreditApplied)
}

// InputOf returns the writable part of an invoice, the starting point of an
// update: a client sends only the fields it changes.
func InputOf(inv *Invoice) Input {
	in := Input{CustomerID: inv.CustomerID, Currency: string(inv.Currency), IssueDate: inv.IssueDate.String(),
		DueDate: inv.DueDate.String(), PaymentTermsDays: inv.PaymentTermsDays, BuyerReference: inv.BuyerReference,
		PurchaseOrder: inv.PurchaseOrder, Notes: inv.Notes, Footer: inv.Footer, PricesIncludeTax: inv.PricesIncludeTax}
	in.Lines = make([]LineInput, 0, len(inv.Lines))
	for _, l := range inv.Lines {
		in.Lines = append(in.Lines, lineInputOf(l))
	}
	in.Allowances = acInputsOf(inv.Allowances)
	in.Charges = acInputsOf(inv.Charges)
	return in
}

func lineInputOf(l Line) LineInput {
	li := LineInput{ProductID: l.ProductID, Description: l.Description, Quantity: l.Quantity.String(), Unit: l.Unit,
		UnitPrice: l.UnitPrice.String(), TaxRateIDs: []string{}}
	if !l.BaseQuantity.IsZero() && !l.BaseQuantity.Equal(money.NewFromInt(1)) {
		li.BaseQuantity = l.BaseQuantity.String()
	}
	if !l.DiscountPercent.IsZero() {
		li.DiscountPercent = l.DiscountPercent.String()
	}
	if !l.DiscountAmount.IsZero() {
		li.DiscountAmount = l.DiscountAmount.String()
	}
	for _, t := range l.Taxes {
		li.TaxRateIDs = append(li.TaxRateIDs, t.TaxRateID)
	}
	return li
}

func acInputsOf(acs []AllowanceCharge) []AllowanceChargeInput {
	var out []AllowanceChargeInput
	for _, a := range acs {
		ai := AllowanceChargeInput{Reason: a.Reason}
		if a.Percent.IsZero() {
			ai.Amount = a.Amount.String()
		} else {
			ai.Percent = a.Percent.String()
		}
		if a.Tax != nil {
			ai.TaxRateID = a.Tax.TaxRateID
		}
		out = append(out, ai)
	}
	return out
}

// Create validates in and stores a new draft invoice.
func (s *Service) Create(ctx context.Context, orgID string, in Input) (*Invoice, error) {
	now := s.Now().UTC()
	inv := &Invoice{ID: ident.New("inv", now), OrgID: orgID, Status: StatusDraft, CreatedAt: now, UpdatedAt: now}
	if err := s.resolve(ctx, inv, in); err != nil {
		return nil, err
	}
	if err := s.Store.InsertInvoice(ctx, inv); err != nil {
		return nil, err
	}
	return inv, nil
}

// Update validates in and replaces a draft's content.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input) (*Invoice, error) {
	return s.transition(ctx, orgID, id, func(ctx context.Context, inv *Invoice, _ time.Time) error {
		if inv.Status != StatusDraft {
			return errFinalized(id)
		}
		return s.resolve(ctx, inv, in)
	})
}

// Get returns one invoice.
func (s *Service) Get(ctx context.Context, orgID, id string) (*Invoice, error) {
	return s.Store.GetInvoice(ctx, orgID, id, false)
}

// Version returns the version of an invoice: it changes whenever the
// stored invoice does, so a reader can tell whether an invoice it read
// before is still current without reading it again.
func (s *Service) Version(ctx context.Context, orgID, id string) (int, error) {
	return s.Store.InvoiceVersion(ctx, orgID, id)
}

// List lists invoices, newest first.
func (s *Service) List(ctx context.Context, orgID string, f Filter) ([]*Invoice, error) {
	return s.Store.ListInvoices(ctx, orgID, f)
}

// Delete deletes a draft; a finalized invoice is never deleted.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	return s.Store.InTx(ctx, func(ctx context.Context) error {
		inv, err := s.Store.GetInvoice(ctx, orgID, id, true)
		if err != nil {
			return err
		}
		if inv.Status != StatusDraft {
			return errFinalized(id)
		}
		return s.Store.DeleteInvoice(ctx, orgID, id)
	})
}
