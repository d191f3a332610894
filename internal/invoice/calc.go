package invoice

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"bursar/internal/errs"
	"bursar/internal/money"
)

// Calculate computes every derived amount of the document from its lines,
// allowances and charges, exactly as DESIGN.md §4 says: line gross, discount
// and net; allowance and charge base and net; the tax breakdown per
// (category, rate) group; and the EN 16931 totals, with paid (BT-113) as
// given. It assumes the inputs were validated (see Service); for the few it
// cannot compute it returns an Invalid error and leaves d unchanged.
func (d *Document) Calculate(paid money.Decimal) error {
	if err := d.checkComputable(); err != nil {
		return err
	}
	c := calculator{p: d.Currency.Digits()}
	c.zero = money.Zero.Round(c.p)
	c.unit = money.New(1, c.p)

	for i := range d.Lines {
		c.line(&d.Lines[i])
	}
	// Allowance and charge amounts: net when prices exclude tax, gross
	// (tax included) when they include it.
	allowances := c.allowanceCharges(d.Lines, d.Allowances)
	charges := c.allowanceCharges(d.Lines, d.Charges)

	g := newTaxGroups(c.zero)
	if d.PricesIncludeTax {
		c.inclusive(g, d, allowances, charges)
	} else {
		c.exclusive(g, d, allowances, charges)
	}

	t := Totals{LinesNet: c.zero, Allowances: c.zero, Charges: c.zero, Tax: c.zero, Rounding: c.zero}
	for _, l := range d.Lines {
		t.LinesNet = t.LinesNet.Add(l.Net)
	}
	for _, a := range d.Allowances {
		t.Allowances = t.Allowances.Add(a.Net)
	}
	for _, ch := range d.Charges {
		t.Charges = t.Charges.Add(ch.Net)
	}
	d.Taxes = g.subtotals()
	for _, s := range d.Taxes {
		t.Tax = t.Tax.Add(s.Tax)
	}
	t.TaxExclusive = t.LinesNet.Sub(t.Allowances).Add(t.Charges)
	t.TaxInclusive = t.TaxExclusive.Add(t.Tax)
	t.Paid = paid.Round(c.p)
	t.Due = t.TaxInclusive.Sub(t.Paid).Add(t.Rounding)
	d.Totals = t
	return nil
}

// checkComputable refuses, before anything is written, the inputs whose
// result would be undefined: validation normally stops them earlier.
func (d *Document) checkComputable() error {
	var f errs.Fields
	if !d.Currency.Valid() {
		f.Add("currency", "must be an active ISO 4217 currency code")
	}
	for i, l := range d.Lines {
		p := "lines[" + strconv.Itoa(i) + "]"
		if l.BaseQuantity.Sign() < 0 {
			f.Add(p+".base_quantity", "must not be negative")
		}
		if !l.DiscountPercent.IsZero() && !l.DiscountAmount.IsZero() {
			f.Add(p+".discount_amount", "give either discount_percent or discount_amount, not both")
		}
		seen := map[string]bool{}
		for j, t := range l.Taxes {
			tp := p + ".taxes[" + strconv.Itoa(j) + "]"
			if t.Percentage.Sign() < 0 {
				f.Add(tp+".percentage", "must not be negative")
			}
			if seen[groupKey(t)] {
				f.Add(tp, "a line cannot carry two taxes of the same category and rate")
			}
			seen[groupKey(t)] = true
		}
	}
	for _, acs := range [...]struct {
		name string
		list []AllowanceCharge
	}{{"allowances", d.Allowances}, {"charges", d.Charges}} {
		for i, a := range acs.list {
			p := acs.name + "[" + strconv.Itoa(i) + "]"
			if !a.Amount.IsZero() && !a.Percent.IsZero() {
				f.Add(p+".amount", "give either amount or percent, not both")
			}
			if a.Tax != nil && a.Tax.Percentage.Sign() < 0 {
				f.Add(p+".tax.percentage", "must not be negative")
			}
		}
	}
	if len(f) == 0 {
		return nil
	}
	return &errs.Error{Kind: errs.Invalid, Code: "calculation_failed",
		Message: "the document's amounts cannot be calculated", Fields: f}
}

// calculator holds the currency precision p and the zero and minor unit at
// that precision.
type calculator struct {
	p          int32
	zero, unit money.Decimal
}

// line sets the line's discount and its value (quantity × price / base -
// discount), which is its gross and, when prices exclude tax, its net.
// Dividing by the base quantity inside the rounding keeps the amount exact
// even when the division does not terminate (a price per 3 units).
func (c calculator) line(l *Line) {
	base := l.BaseQuantity
	if base.IsZero() {
		base = money.NewFromInt(1)
	}
	raw := l.Quantity.Mul(l.UnitPrice)
	amount := raw.QuoRound(base, c.p)
	discount := l.DiscountAmount.Round(c.p)
	if !l.DiscountPercent.IsZero() {
		discount = raw.Mul(l.DiscountPercent).QuoRound(base.Mul(hundred), c.p)
	}
	l.Discount = discount
	l.Gross = amount.Sub(discount)
	l.Net = l.Gross
}

// allowanceCharges sets Base for percentage allowances or charges and
// returns every amount, rounded to the currency. A percentage applies to
// the lines that carry the allowance's tax group (all lines when it has no
// tax).
func (c calculator) allowanceCharges(lines []Line, acs []AllowanceCharge) []money.Decimal {
	amounts := make([]money.Decimal, len(acs))
	for i := range acs {
		a := &acs[i]
		a.Base = c.zero
		if a.Percent.IsZero() {
			amounts[i] = a.Amount.Round(c.p)
			continue
		}
		for _, l := range lines {
			if a.Tax == nil || slices.ContainsFunc(l.Taxes, func(t Tax) bool { return groupKey(t) == groupKey(*a.Tax) }) {
				a.Base = a.Base.Add(l.Gross)
			}
		}
		amounts[i] = a.Base.Mul(a.Percent).QuoRound(hundred, c.p)
	}
	return amounts
}

// exclusive computes the tax of prices that exclude it: each group's tax is
// its taxable amount times its rate, rounded once.
func (c calculator) exclusive(g *taxGroups, d *Document, allowances, charges []money.Decimal) {
	for _, l := range d.Lines {
		for _, t := range l.Taxes {
			g.add(t, l.Net, c.zero)
		}
	}
	for i := range d.Allowances {
		d.Allowances[i].Net = allowances[i]
		if t := d.Allowances[i].Tax; t != nil {
			g.add(*t, allowances[i].Neg(), c.zero)
		}
	}
	for i := range d.Charges {
		d.Charges[i].Net = charges[i]
		if t := d.Charges[i].Tax; t != nil {
			g.add(*t, charges[i], c.zero)
		}
	}
	for _, grp := range g.byKey {
		grp.tax = grp.taxable.Mul(grp.first.Percentage).QuoRound(hundred, c.p)
	}
}

// taxGroups accumulates the tax breakdown, one group per (category, rate).
type taxGroups struct {
	zero  money.Decimal
	byKey map[string]*taxGroup
}

type taxGroup struct {
	first        Tax // the first tax seen: its percentage and exemption reason are reported
	taxable, tax money.Decimal
}

func newTaxGroups(zero money.Decimal) *taxGroups {
	return &taxGroups{zero: zero, byKey: map[string]*taxGroup{}}
}

// add adds taxable and tax amounts to t's group, creating it if needed.
func (g *taxGroups) add(t Tax, taxable, tax money.Decimal) {
	grp := g.byKey[groupKey(t)]
	if grp == nil {
		grp = &taxGroup{first: t, taxable: g.zero, tax: g.zero}
		g.byKey[groupKey(t)] = grp
	}
	grp.taxable = grp.taxable.Add(taxable)
	grp.tax = grp.tax.Add(tax)
}

// subtotals returns the breakdown sorted by category, then rate.
func (g *taxGroups) subtotals() []TaxSubtotal {
	out := make([]TaxSubtotal, 0, len(g.byKey))
	for _, grp := range g.byKey {
		out = append(out, TaxSubtotal{Category: grp.first.Category, Percentage: grp.first.Percentage,
			Taxable: grp.taxable, Tax: grp.tax,
			ExemptionReason: grp.first.ExemptionReason, ExemptionReasonCode: grp.first.ExemptionReasonCode})
	}
	slices.SortFunc(out, func(a, b TaxSubtotal) int {
		return cmp.Or(strings.Compare(a.Category, b.Category), a.Percentage.Cmp(b.Percentage))
	})
	return out
}
