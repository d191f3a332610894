package invoice

import (
	"slices"
	"strings"

	"bursar/internal/money"
)

// combination gathers, when prices include tax, the lines, allowances and
// charges that carry one and the same set of taxes: tax included in a
// price can only be taken out of it for the set's total rate at once.
type combination struct {
	taxes []Tax // one per group, sorted by group key
	items []grossItem
}

// grossItem is a line, allowance or charge of a combination: its gross
// amount, signed as it counts towards the total (allowances negative), and
// where its net goes.
type grossItem struct {
	gross  money.Decimal
	net    *money.Decimal
	negate bool // an allowance's Net is written positive
}

// inclusive takes the tax out of prices that include it. For each
// combination of taxes with total rate R and gross G, the tax is
// round(G × R / (100 + R)), split between the combination's taxes in
// proportion to their rates; the rest, the net, is apportioned over its
// lines, allowances and charges in proportion to their gross. Both splits
// use largest remainders, so that nets plus taxes give back the gross
// amounts the customer saw, exactly.
//
// An allowance or charge carries a single tax, so it forms its own
// combination with the lines that carry just that tax (or is alone in it),
// as it belongs to that tax's group only when prices exclude tax.
func (c calculator) inclusive(g *taxGroups, d *Document, allowances, charges []money.Decimal) {
	combos := map[string]*combination{}
	var order []string
	put := func(taxes []Tax, it grossItem) {
		set := slices.Clone(taxes)
		slices.SortFunc(set, func(a, b Tax) int { return strings.Compare(groupKey(a), groupKey(b)) })
		keys := make([]string, len(set))
		for i, t := range set {
			keys[i] = groupKey(t)
		}
		key := strings.Join(keys, "|")
		cb := combos[key]
		if cb == nil {
			cb = &combination{taxes: set}
			combos[key] = cb
			order = append(order, key)
		}
		cb.items = append(cb.items, it)
	}
	taxOf := func(t *Tax) []Tax {
		if t == nil {
			return nil
		}
		return []Tax{*t}
	}
	for i := range d.Lines {
		put(d.Lines[i].Taxes, grossItem{gross: d.Lines[i].Gross, net: &d.Lines[i].Net})
	}
	for i := range d.Allowances {
		put(taxOf(d.Allowances[i].Tax), grossItem{gross: allowances[i].Neg(), net: &d.Allowances[i].Net, negate: true})
	}
	for i := range d.Charges {
		put(taxOf(d.Charges[i].Tax), grossItem{gross: charges[i], net: &d.Charges[i].Net})
	}
	for _, key := range order {
		c.apportion(g, combos[key])
	}
}

// apportion splits one combination's gross into tax and net.
func (c calculator) apportion(g *taxGroups, cb *combination) {
	gross, rate := c.zero, money.Zero
	for _, it := range cb.items {
		gross = gross.Add(it.gross)
	}
	for _, t := range cb.taxes {
		rate = rate.Add(t.Percentage)
	}
	tax := c.zero
	parts := make([]money.Decimal, len(cb.taxes))
	if !rate.IsZero() {
		tax = gross.Mul(rate).QuoRound(hundred.Add(rate), c.p)
		num := make([]money.Decimal, len(cb.taxes))
		for i, t := range cb.taxes {
			num[i] = tax.Mul(t.Percentage)
		}
		parts = c.allocate(tax, num, rate)
	}
	net := gross.Sub(tax)

	// Each item's exact share is net × its gross / G. When G is zero
	// (a line and its refund), the net is zero too and the exact shares
	// are the items' own nets, gross × 100 / (100 + R), which sum to zero.
	num := make([]money.Decimal, len(cb.items))
	den := gross
	for i, it := range cb.items {
		num[i] = net.Mul(it.gross)
	}
	if gross.IsZero() {
		den = hundred.Add(rate)
		for i, it := range cb.items {
			num[i] = it.gross.Mul(hundred)
		}
	}
	for i, v := range c.allocate(net, num, den) {
		if cb.items[i].negate {
			v = v.Neg()
		}
		*cb.items[i].net = v
	}
	for i, t := range cb.taxes {
		g.add(t, net, parts[i])
	}
}
