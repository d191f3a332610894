package invoice

import (
	"slices"

	"bursar/internal/money"
)

// allocate rounds the exact shares num[i] / den to the currency so that
// they sum to total exactly, by largest remainder: every share is first
// rounded down, and the minor units still missing go one each to the
// shares that lost the most. The caller guarantees that the exact shares
// sum to total, which is at the currency's precision, and that den is not
// zero.
//
// The rounding is symmetric: negating total and every share negates the
// result, so a refund apportions exactly as the sale it reverses.
func (c calculator) allocate(total money.Decimal, num []money.Decimal, den money.Decimal) []money.Decimal {
	num = slices.Clone(num)
	if den.Sign() < 0 {
		den = den.Neg()
		for i := range num {
			num[i] = num[i].Neg()
		}
	}
	flip := total.Sign() < 0
	if total.IsZero() {
		if i := slices.IndexFunc(num, func(x money.Decimal) bool { return !x.IsZero() }); i >= 0 {
			flip = num[i].Sign() < 0
		}
	}
	if flip {
		total = total.Neg()
		for i := range num {
			num[i] = num[i].Neg()
		}
	}

	out := make([]money.Decimal, len(num))
	rem := make([]money.Decimal, len(num))
	sum := c.zero
	for i, x := range num {
		q := x.QuoRound(den, c.p)
		if q.Mul(den).Cmp(x) > 0 {
			q = q.Sub(c.unit)
		}
		out[i], rem[i] = q, x.Sub(q.Mul(den))
		sum = sum.Add(q)
	}
	// Rounding every share down lost less than one unit each, so between
	// 0 and len(num)-1 units are missing.
	missing, _ := total.Sub(sum).QuoRound(c.unit, 0).MinorUnits(0)
	order := make([]int, len(num))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rem[b].Cmp(rem[a]) })
	for _, i := range order[:missing] {
		out[i] = out[i].Add(c.unit)
	}
	if flip {
		for i := range out {
			out[i] = out[i].Neg()
		}
	}
	return out
}
