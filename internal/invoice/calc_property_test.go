package invoice

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"bursar/internal/money"
)

// randomDocuments is how many random documents each property is checked on.
const randomDocuments = 3000

// taxPool holds the rates random lines draw from; S 19.00 is the same group
// as S 19, and GST with QST makes the Canadian combination.
var taxPool = []Tax{s19, s19b, s7, s20, s10, s8, gst, qst, tax("S", "8.5"), z0, e0, ae0, tax("S", "21")}

var currencyPool = []money.Currency{"EUR", "JPY", "KWD", "CLF", "USD", "CAD", "BHD", "CHF"}

// randDecimal returns a decimal of up to digits significant digits and a
// scale of 0 to maxScale, built from random integers (no floats).
func randDecimal(r *rand.Rand, digits int, maxScale int) money.Decimal {
	limit := int64(1)
	for range 1 + r.IntN(digits) {
		limit *= 10
	}
	return money.New(r.Int64N(limit), int32(r.IntN(maxScale+1)))
}

// randomDocument builds a document that passes the Service's validation:
// one discount at most, positive base quantities, no two taxes of one group
// on a line, and allowances and charges in a group a line carries whenever
// lines are taxed.
func randomDocument(r *rand.Rand) (Document, money.Decimal) {
	d := Document{Currency: currencyPool[r.IntN(len(currencyPool))], PricesIncludeTax: r.IntN(2) == 0}
	var used []Tax
	for range 1 + r.IntN(20) {
		l := Line{Quantity: randDecimal(r, 5, 3), UnitPrice: randDecimal(r, 8, 6)}
		if r.IntN(8) == 0 {
			l.Quantity = l.Quantity.Neg()
		}
		if r.IntN(20) == 0 {
			l.UnitPrice = l.UnitPrice.Neg()
		}
		if r.IntN(4) == 0 {
			l.BaseQuantity = randDecimal(r, 3, 2).Add(money.New(1, 2))
		}
		switch r.IntN(5) {
		case 0:
			l.DiscountPercent = randDecimal(r, 4, 2).QuoRound(money.NewFromInt(100), 2)
		case 1:
			l.DiscountAmount = randDecimal(r, 5, 3)
		}
		seen := map[string]bool{}
		for range r.IntN(4) {
			t := taxPool[r.IntN(len(taxPool))]
			if !seen[groupKey(t)] {
				seen[groupKey(t)] = true
				l.Taxes = append(l.Taxes, t)
				used = append(used, t)
			}
		}
		d.Lines = append(d.Lines, l)
	}
	acs := func() []AllowanceCharge {
		var out []AllowanceCharge
		for range r.IntN(4) {
			a := AllowanceCharge{Reason: "random"}
			if r.IntN(2) == 0 {
				a.Percent = randDecimal(r, 4, 2).QuoRound(money.NewFromInt(100), 2)
			} else {
				a.Amount = randDecimal(r, 6, 3)
			}
			if len(used) > 0 {
				t := used[r.IntN(len(used))]
				a.Tax = &t
			}
			out = append(out, a)
		}
		return out
	}
	d.Allowances, d.Charges = acs(), acs()
	return d, randDecimal(r, 8, 4)
}

// calculated is a random document after Calculate, with what it was given.
type calculated struct {
	doc  Document
	paid money.Decimal
	err  error
}

// calculatedDocuments are the seeded random documents, calculated once and
// shared, read-only, by every property.
var calculatedDocuments = sync.OnceValue(func() []calculated {
	r := rand.New(rand.NewPCG(20261122, 4217))
	out := make([]calculated, randomDocuments)
	for i := range out {
		c := &out[i]
		c.doc, c.paid = randomDocument(r)
		c.err = c.doc.Calculate(c.paid)
	}
	return out
})

// eachRandomDocument hands every calculated random document to check,
// which must not change it, and stops at the first that fails, printing it
// for reproduction.
func eachRandomDocument(t *testing.T, check func(d *Document, paid money.Decimal) error) {
	t.Helper()
	t.Parallel()
	for i, c := range calculatedDocuments() {
		if c.err != nil {
			t.Fatalf("document %d: Calculate: %v", i, c.err)
		}
		if err := check(&c.doc, c.paid); err != nil {
			js, _ := json.Marshal(c.doc)
			t.Fatalf("document %d: %v\n%s", i, err, js)
		}
	}
}

// cloneDocument copies d so that calculating the copy leaves d alone.
func cloneDocument(d Document) Document {
	d.Lines = slices.Clone(d.Lines)
	d.Allowances = slices.Clone(d.Allowances)
	d.Charges = slices.Clone(d.Charges)
	d.Taxes = slices.Clone(d.Taxes)
	return d
}

// sum adds up amounts, starting from 0 at the currency's scale.
func sum(d *Document, amounts ...money.Decimal) money.Decimal {
	s := money.Zero.Round(int32(d.Currency.Digits()))
	for _, a := range amounts {
		s = s.Add(a)
	}
	return s
}

func equal(name string, got, want money.Decimal) error {
	if !got.Equal(want) {
		return fmt.Errorf("%s: got %s, want %s", name, got, want)
	}
	return nil
}

func lineNets(lines []Line) []money.Decimal {
	var out []money.Decimal
	for _, l := range lines {
		out = append(out, l.Net)
	}
	return out
}

func acNets(acs []AllowanceCharge) []money.Decimal {
	var out []money.Decimal
	for _, a := range acs {
		out = append(out, a.Net)
	}
	return out
}

func checkBRCO10(d *Document, _ money.Decimal) error {
	return equal("BR-CO-10 lines net (BT-106)", d.Totals.LinesNet, sum(d, lineNets(d.Lines)...))
}

func checkBRCO11(d *Document, _ money.Decimal) error {
	return equal("BR-CO-11 allowances (BT-107)", d.Totals.Allowances, sum(d, acNets(d.Allowances)...))
}

func checkBRCO12(d *Document, _ money.Decimal) error {
	return equal("BR-CO-12 charges (BT-108)", d.Totals.Charges, sum(d, acNets(d.Charges)...))
}

func checkBRCO13(d *Document, _ money.Decimal) error {
	want := sum(d, lineNets(d.Lines)...).Sub(d.Totals.Allowances).Add(d.Totals.Charges)
	return equal("BR-CO-13 tax exclusive (BT-109)", d.Totals.TaxExclusive, want)
}

func checkBRCO14(d *Document, _ money.Decimal) error {
	var taxes []money.Decimal
	for _, s := range d.Taxes {
		taxes = append(taxes, s.Tax)
	}
	return equal("BR-CO-14 tax (BT-110)", d.Totals.Tax, sum(d, taxes...))
}

func checkBRCO15(d *Document, _ money.Decimal) error {
	return equal("BR-CO-15 tax inclusive (BT-112)", d.Totals.TaxInclusive, d.Totals.TaxExclusive.Add(d.Totals.Tax))
}

func checkBRCO16(d *Document, paid money.Decimal) error {
	if err := equal("paid (BT-113)", d.Totals.Paid, d.Currency.Round(paid)); err != nil {
		return err
	}
	if err := equal("rounding (BT-114)", d.Totals.Rounding, money.Zero); err != nil {
		return err
	}
	return equal("BR-CO-16 due (BT-115)", d.Totals.Due, d.Totals.TaxInclusive.Sub(d.Totals.Paid).Add(d.Totals.Rounding))
}

// checkScale checks that every computed amount is at the currency's scale.
func checkScale(d *Document, _ money.Decimal) error {
	p := int32(d.Currency.Digits())
	at := func(name string, v money.Decimal) error {
		if v.Scale() != p {
			return fmt.Errorf("%s = %s: got scale %d, want %d", name, v, v.Scale(), p)
		}
		return nil
	}
	t := d.Totals
	var problems []error
	for name, v := range map[string]money.Decimal{"lines_net": t.LinesNet, "allowances": t.Allowances,
		"charges": t.Charges, "tax_exclusive": t.TaxExclusive, "tax": t.Tax, "tax_inclusive": t.TaxInclusive,
		"paid": t.Paid, "rounding": t.Rounding, "due": t.Due} {
		problems = append(problems, at(name, v))
	}
	for i, l := range d.Lines {
		problems = append(problems, at(fmt.Sprintf("lines[%d].gross", i), l.Gross),
			at(fmt.Sprintf("lines[%d].discount", i), l.Discount), at(fmt.Sprintf("lines[%d].net", i), l.Net))
	}
	for i, a := range slices.Concat(d.Allowances, d.Charges) {
		problems = append(problems, at(fmt.Sprintf("allowance or charge %d base", i), a.Base), at(fmt.Sprintf("allowance or charge %d net", i), a.Net))
	}
	for _, s := range d.Taxes {
		problems = append(problems, at("taxable "+s.Category+" "+s.Percentage.String(), s.Taxable), at("tax "+s.Category+" "+s.Percentage.String(), s.Tax))
	}
	for _, err := range problems {
		if err != nil {
			return err
		}
	}
	return nil
}

// acGross recomputes the amount of an allowance or charge as given: its
// own base and percentage, or its amount, at the currency.
func acGross(d *Document, a AllowanceCharge) money.Decimal {
	if a.Percent.IsZero() {
		return d.Currency.Round(a.Amount)
	}
	var base []money.Decimal
	for _, l := range d.Lines {
		if a.Tax == nil || slices.ContainsFunc(l.Taxes, func(t Tax) bool { return groupKey(t) == groupKey(*a.Tax) }) {
			base = append(base, l.Gross)
		}
	}
	return sum(d, base...).Mul(a.Percent).QuoRound(hundred, int32(d.Currency.Digits()))
}

// checkGross checks, for prices that include tax, that the customer pays
// exactly the gross amounts shown: Σ line gross - allowances + charges.
func checkGross(d *Document, _ money.Decimal) error {
	if !d.PricesIncludeTax {
		return nil
	}
	want := sum(d)
	for _, l := range d.Lines {
		want = want.Add(l.Gross)
	}
	for _, a := range d.Allowances {
		want = want.Sub(acGross(d, a))
	}
	for _, c := range d.Charges {
		want = want.Add(acGross(d, c))
	}
	return equal("gross identity (BT-112)", d.Totals.TaxInclusive, want)
}

// checkExclusiveGroups recomputes, for prices that exclude tax, each group
// from the lines, allowances and charges, and its tax as round(taxable ×
// rate / 100); and checks that allowances and charges are as given.
func checkExclusiveGroups(d *Document, _ money.Decimal) error {
	if d.PricesIncludeTax {
		return nil
	}
	taxable := map[string]money.Decimal{}
	for _, l := range d.Lines {
		if !l.Net.Equal(l.Gross) {
			return fmt.Errorf("line net %s differs from its gross %s", l.Net, l.Gross)
		}
		for _, t := range l.Taxes {
			taxable[groupKey(t)] = taxable[groupKey(t)].Add(l.Net)
		}
	}
	for sign, acs := range map[int][]AllowanceCharge{-1: d.Allowances, 1: d.Charges} {
		for _, a := range acs {
			if err := equal("allowance or charge net", a.Net, acGross(d, a)); err != nil {
				return err
			}
			if a.Tax != nil {
				k := groupKey(*a.Tax)
				if sign < 0 {
					taxable[k] = taxable[k].Sub(a.Net)
				} else {
					taxable[k] = taxable[k].Add(a.Net)
				}
			}
		}
	}
	if got, want := len(d.Taxes), len(taxable); got != want {
		return fmt.Errorf("tax groups: got %d, want %d", got, want)
	}
	for _, s := range d.Taxes {
		k := groupKey(Tax{Category: s.Category, Percentage: s.Percentage})
		if err := equal("taxable "+k, s.Taxable, taxable[k]); err != nil {
			return err
		}
		want := s.Taxable.Mul(s.Percentage).QuoRound(hundred, int32(d.Currency.Digits()))
		if err := equal("tax "+k, s.Tax, want); err != nil {
			return err
		}
	}
	return nil
}

// checkGroupsSorted checks the breakdown is sorted by category, then rate,
// with no group twice.
func checkGroupsSorted(d *Document, _ money.Decimal) error {
	for i := 1; i < len(d.Taxes); i++ {
		a, b := d.Taxes[i-1], d.Taxes[i]
		if a.Category > b.Category || a.Category == b.Category && a.Percentage.Cmp(b.Percentage) >= 0 {
			return fmt.Errorf("tax groups out of order or repeated: %s %s before %s %s", a.Category, a.Percentage, b.Category, b.Percentage)
		}
	}
	return nil
}

// checkInclusiveNets checks, when prices include tax and every line is
// positive with no allowance or charge, that each line's net is within 1.5
// minor units of its gross without tax: gross × 100 / (100 + R).
func checkInclusiveNets(d *Document, _ money.Decimal) error {
	if !d.PricesIncludeTax || len(d.Allowances)+len(d.Charges) > 0 {
		return nil
	}
	for _, l := range d.Lines {
		if l.Gross.Sign() < 0 {
			return nil
		}
	}
	p := int32(d.Currency.Digits())
	limit := money.New(15, p+1)
	for i, l := range d.Lines {
		rate := money.Zero
		for _, t := range l.Taxes {
			rate = rate.Add(t.Percentage)
		}
		ideal := l.Gross.Mul(hundred).QuoRound(hundred.Add(rate), p+6)
		if l.Net.Sub(ideal).Abs().Cmp(limit) > 0 {
			return fmt.Errorf("lines[%d] net %s is far from %s", i, l.Net, ideal)
		}
	}
	return nil
}

func TestCalculate_BRCO10_LinesNet(t *testing.T)        { eachRandomDocument(t, checkBRCO10) }
func TestCalculate_BRCO11_Allowances(t *testing.T)      { eachRandomDocument(t, checkBRCO11) }
func TestCalculate_BRCO12_Charges(t *testing.T)         { eachRandomDocument(t, checkBRCO12) }
func TestCalculate_BRCO13_TaxExclusive(t *testing.T)    { eachRandomDocument(t, checkBRCO13) }
func TestCalculate_BRCO14_Tax(t *testing.T)             { eachRandomDocument(t, checkBRCO14) }
func TestCalculate_BRCO15_TaxInclusive(t *testing.T)    { eachRandomDocument(t, checkBRCO15) }
func TestCalculate_BRCO16_Due(t *testing.T)             { eachRandomDocument(t, checkBRCO16) }
func TestCalculate_Property_Scale(t *testing.T)         { eachRandomDocument(t, checkScale) }
func TestCalculate_Property_GrossIdentity(t *testing.T) { eachRandomDocument(t, checkGross) }
func TestCalculate_Property_ExclusiveGroups(t *testing.T) {
	eachRandomDocument(t, checkExclusiveGroups)
}
func TestCalculate_Property_GroupsSorted(t *testing.T)  { eachRandomDocument(t, checkGroupsSorted) }
func TestCalculate_Property_InclusiveNets(t *testing.T) { eachRandomDocument(t, checkInclusiveNets) }

// TestCalculate_Property_Negation checks that a document with every
// quantity, discount amount and allowance or charge amount negated comes out
// exactly negated: rounding half away from zero and the largest remainder
// splits are symmetric, so a refund mirrors the sale.
func TestCalculate_Property_Negation(t *testing.T) {
	eachRandomDocument(t, func(d *Document, paid money.Decimal) error {
		n := cloneDocument(*d)
		for i := range n.Lines {
			n.Lines[i].Quantity = n.Lines[i].Quantity.Neg()
			n.Lines[i].DiscountAmount = n.Lines[i].DiscountAmount.Neg()
		}
		for _, acs := range [][]AllowanceCharge{n.Allowances, n.Charges} {
			for i := range acs {
				acs[i].Amount = acs[i].Amount.Neg()
			}
		}
		if err := n.Calculate(paid.Neg()); err != nil {
			return err
		}
		for i := range d.Lines {
			if err := equal(fmt.Sprintf("negated lines[%d].net", i), n.Lines[i].Net, d.Lines[i].Net.Neg()); err != nil {
				return err
			}
		}
		for i, a := range slices.Concat(d.Allowances, d.Charges) {
			if err := equal(fmt.Sprintf("negated allowance or charge %d", i), slices.Concat(n.Allowances, n.Charges)[i].Net, a.Net.Neg()); err != nil {
				return err
			}
		}
		for i, s := range d.Taxes {
			if err := equal("negated tax of "+s.Category+" "+s.Percentage.String(), n.Taxes[i].Tax, s.Tax.Neg()); err != nil {
				return err
			}
		}
		return equal("negated due", n.Totals.Due, d.Totals.Due.Neg())
	})
}

// TestCalculate_Property_Idempotent checks that a second Calculate changes
// nothing.
func TestCalculate_Property_Idempotent(t *testing.T) {
	eachRandomDocument(t, func(d *Document, paid money.Decimal) error {
		first, _ := json.Marshal(d)
		again := cloneDocument(*d)
		if err := again.Calculate(paid); err != nil {
			return err
		}
		if second, _ := json.Marshal(again); string(second) != string(first) {
			return fmt.Errorf("second run: got %s, want %s", second, first)
		}
		return nil
	})
}
