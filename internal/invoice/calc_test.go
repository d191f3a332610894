package invoice

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"bursar/internal/errs"
	"bursar/internal/money"
)

// dec parses a decimal constant of a test.
func dec(s string) money.Decimal { return money.MustParse(s) }

func tax(category, percentage string) Tax {
	return Tax{Category: category, Percentage: dec(percentage)}
}

// Taxes used by the worked cases. GST and QST are Canada's federal and
// Québec sales taxes, charged together on one line.
var (
	s5   = tax("S", "5")
	s6   = tax("S", "6")
	s7   = tax("S", "7")
	s8   = tax("S", "8")
	s10  = tax("S", "10")
	s19  = tax("S", "19")
	s20  = tax("S", "20")
	z0   = tax("Z", "0")
	gst  = Tax{Name: "GST", Category: "S", Percentage: dec("5")}
	qst  = Tax{Name: "QST", Category: "S", Percentage: dec("9.975")}
	e0   = Tax{Category: "E", Percentage: dec("0"), ExemptionReason: "Exempt medical service", ExemptionReasonCode: "VATEX-EU-132-1C"}
	ae0  = Tax{Category: "AE", Percentage: dec("0"), ExemptionReason: "Reverse charge", ExemptionReasonCode: "VATEX-EU-AE"}
	s19b = tax("S", "19.00")
)

func line(qty, price string, taxes ...Tax) Line {
	return Line{Quantity: dec(qty), UnitPrice: dec(price), Taxes: taxes}
}

func amountOf(amount string, t *Tax) AllowanceCharge {
	return AllowanceCharge{Amount: dec(amount), Reason: "test", Tax: t}
}

func percentOf(percent string, t *Tax) AllowanceCharge {
	return AllowanceCharge{Percent: dec(percent), Reason: "test", Tax: t}
}

func ptr(t Tax) *Tax { return &t }

// totals are the expected BT-106, 107, 108, 109, 110, 112 and 115, as
// strings, so that the scale is checked too.
type totals struct {
	linesNet, allowances, charges, taxExclusive, tax, taxInclusive, due string
}

type calcCase struct {
	name  string
	doc   Document
	paid  string // "" is 0
	want  totals
	taxes []string // "category percentage: taxable tax"
	// Optional: line nets, and allowance then charge nets.
	lineNets, acNets []string
}

// calcCases are worked by hand: the comment above each shows the arithmetic.
// Rounding is half away from zero throughout.
var calcCases = []calcCase{
	// 3 × 0.83 = 2.49. Tax 2.49 × 20% = 0.498 → 0.50. 2.49 + 0.50 = 2.99.
	{name: "3 x 0.83 at 20%",
		doc:   Document{Currency: "EUR", Lines: []Line{line("3", "0.83", s20)}},
		want:  totals{"2.49", "0.00", "0.00", "2.49", "0.50", "2.99", "2.99"},
		taxes: []string{"S 20: 2.49 0.50"}},

	// 1 × 8500.00 - discount 7500.00 = 1000.00. Tax 1000.00 × 19% = 190.00.
	{name: "8500.00 less a 7500.00 discount at 19%",
		doc: Document{Currency: "EUR", Lines: []Line{{Quantity: dec("1"), UnitPrice: dec("8500.00"),
			DiscountAmount: dec("7500.00"), Taxes: []Tax{s19}}}},
		want:     totals{"1000.00", "0.00", "0.00", "1000.00", "190.00", "1190.00", "1190.00"},
		taxes:    []string{"S 19: 1000.00 190.00"},
		lineNets: []string{"1000.00"}},

	// Inclusive: gross 12 × 125.00 = 1500.00. Tax = 1500 × 6 / 106 =
	// 84.9056… → 84.91. Net 1500.00 - 84.91 = 1415.09.
	{name: "12 x 125.00 tax-inclusive at 6%",
		doc:      Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("12", "125.00", s6)}},
		want:     totals{"1415.09", "0.00", "0.00", "1415.09", "84.91", "1500.00", "1500.00"},
		taxes:    []string{"S 6: 1415.09 84.91"},
		lineNets: []string{"1415.09"}},

	// JPY has no minor unit. 3 × 333 = 999. Tax 999 × 10% = 99.9 → 100.
	{name: "JPY 3 x 333 at 10%",
		doc:   Document{Currency: "JPY", Lines: []Line{line("3", "333", s10)}},
		want:  totals{"999", "0", "0", "999", "100", "1099", "1099"},
		taxes: []string{"S 10: 999 100"}},

	// 7 × 12.5 = 87.5 → 88 yen. Tax 88 × 8% = 7.04 → 7. 88 + 7 = 95.
	{name: "JPY fractional price rounds the line",
		doc:   Document{Currency: "JPY", Lines: []Line{line("7", "12.5", s8)}},
		want:  totals{"88", "0", "0", "88", "7", "95", "95"},
		taxes: []string{"S 8: 88 7"}},

	// Inclusive JPY: tax = 1000 × 10 / 110 = 90.909… → 91; net 909.
	{name: "JPY tax-inclusive 1000 at 10%",
		doc:      Document{Currency: "JPY", PricesIncludeTax: true, Lines: []Line{line("1", "1000", s10)}},
		want:     totals{"909", "0", "0", "909", "91", "1000", "1000"},
		taxes:    []string{"S 10: 909 91"},
		lineNets: []string{"909"}},

	// KWD has 3 digits. 2 × 1.2345 = 2.4690 → 2.469. Tax 2.469 × 5% =
	// 0.12345 → 0.123. 2.469 + 0.123 = 2.592.
	{name: "KWD 2 x 1.2345 at 5%",
		doc:   Document{Currency: "KWD", Lines: []Line{line("2", "1.2345", s5)}},
		want:  totals{"2.469", "0.000", "0.000", "2.469", "0.123", "2.592", "2.592"},
		taxes: []string{"S 5: 2.469 0.123"}},

	// 3 × 0.3335 = 1.0005 → 1.001 (the half goes away from zero).
	{name: "KWD untaxed half rounds up",
		doc:  Document{Currency: "KWD", Lines: []Line{line("3", "0.3335")}},
		want: totals{"1.001", "0.000", "0.000", "1.001", "0.000", "1.001", "1.001"}},

	// Inclusive KWD: tax = 1.050 × 5 / 105 = 0.05 → 0.050; net 1.000.
	{name: "KWD tax-inclusive 1.050 at 5%",
		doc:   Document{Currency: "KWD", PricesIncludeTax: true, Lines: []Line{line("1", "1.050", s5)}},
		want:  totals{"1.000", "0.000", "0.000", "1.000", "0.050", "1.050", "1.050"},
		taxes: []string{"S 5: 1.000 0.050"}},

	// CLF has 4 digits. 1.23456 → 1.2346. Tax 1.2346 × 19% = 0.234574 →
	// 0.2346. 1.2346 + 0.2346 = 1.4692.
	{name: "CLF four digits",
		doc:   Document{Currency: "CLF", Lines: []Line{line("1", "1.23456", s19)}},
		want:  totals{"1.2346", "0.0000", "0.0000", "1.2346", "0.2346", "1.4692", "1.4692"},
		taxes: []string{"S 19: 1.2346 0.2346"}},

	// 2 × 50.00 = 100.00, discount 100% = 100.00, net 0.00, tax 0.00.
	{name: "100% discount",
		doc: Document{Currency: "EUR", Lines: []Line{{Quantity: dec("2"), UnitPrice: dec("50.00"),
			DiscountPercent: dec("100"), Taxes: []Tax{s19}}}},
		want:     totals{"0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"},
		taxes:    []string{"S 19: 0.00 0.00"},
		lineNets: []string{"0.00"}},

	// 99.99 × 10% = 9.999 → 10.00 discount; net 89.99. Tax 89.99 × 19% =
	// 17.0981 → 17.10. 89.99 + 17.10 = 107.09.
	{name: "discount percent rounds the discount",
		doc: Document{Currency: "EUR", Lines: []Line{{Quantity: dec("1"), UnitPrice: dec("99.99"),
			DiscountPercent: dec("10"), Taxes: []Tax{s19}}}},
		want:     totals{"89.99", "0.00", "0.00", "89.99", "17.10", "107.09", "107.09"},
		taxes:    []string{"S 19: 89.99 17.10"},
		lineNets: []string{"89.99"}},

	// 0.25 × 10% = 0.025 → 0.03 discount; net 0.25 - 0.03 = 0.22.
	{name: "discount percent half rounds away from zero",
		doc: Document{Currency: "EUR", Lines: []Line{{Quantity: dec("1"), UnitPrice: dec("0.25"),
			DiscountPercent: dec("10")}}},
		want:     totals{"0.22", "0.00", "0.00", "0.22", "0.00", "0.22", "0.22"},
		lineNets: []string{"0.22"}},

	// Refund with a discount: -2 × 10.00 = -20.00; discount -20.00 × 15%
	// = -3.00; value -20.00 - (-3.00) = -17.00. Tax -17.00 × 19% = -3.23.
	{name: "negative line with a discount percent",
		doc: Document{Currency: "EUR", Lines: []Line{{Quantity: dec("-2"), UnitPrice: dec("10.00"),
			DiscountPercent: dec("15"), Taxes: []Tax{s19}}}},
		want:     totals{"-17.00", "0.00", "0.00", "-17.00", "-3.23", "-20.23", "-20.23"},
		taxes:    []string{"S 19: -17.00 -3.23"},
		lineNets: []string{"-17.00"}},

	// 5 × 20.00 = 100.00 zero-rated: tax 0.00.
	{name: "zero-rated",
		doc:   Document{Currency: "EUR", Lines: []Line{line("5", "20.00", z0)}},
		want:  totals{"100.00", "0.00", "0.00", "100.00", "0.00", "100.00", "100.00"},
		taxes: []string{"Z 0: 100.00 0.00"}},

	// Exempt: 250.00, tax 0.00, the exemption reason is reported.
	{name: "exempt",
		doc:   Document{Currency: "EUR", Lines: []Line{line("1", "250.00", e0)}},
		want:  totals{"250.00", "0.00", "0.00", "250.00", "0.00", "250.00", "250.00"},
		taxes: []string{"E 0: 250.00 0.00 (VATEX-EU-132-1C Exempt medical service)"}},

	// Reverse charge: 10 × 99.99 = 999.90, tax 0.00 (the buyer pays it).
	{name: "reverse charge",
		doc:   Document{Currency: "EUR", Lines: []Line{line("10", "99.99", ae0)}},
		want:  totals{"999.90", "0.00", "0.00", "999.90", "0.00", "999.90", "999.90"},
		taxes: []string{"AE 0: 999.90 0.00 (VATEX-EU-AE Reverse charge)"}},

	// 100.00 at 19% (19.00), 50.00 zero-rated, 30.00 exempt, 2 × 5.00
	// reverse charge: net 190.00, tax 19.00, 209.00. Groups sorted by
	// category: AE < E < S < Z.
	{name: "standard, zero-rated, exempt and reverse charge lines",
		doc: Document{Currency: "EUR", Lines: []Line{line("1", "100.00", s19), line("1", "50.00", z0),
			line("1", "30.00", e0), line("2", "5.00", ae0)}},
		want: totals{"190.00", "0.00", "0.00", "190.00", "19.00", "209.00", "209.00"},
		taxes: []string{"AE 0: 10.00 0.00 (VATEX-EU-AE Reverse charge)",
			"E 0: 30.00 0.00 (VATEX-EU-132-1C Exempt medical service)", "S 19: 100.00 19.00", "Z 0: 50.00 0.00"}},

	// 100.00 - a refund of 20.00 = 80.00. Tax 80.00 × 19% = 15.20.
	{name: "refund line",
		doc:      Document{Currency: "EUR", Lines: []Line{line("1", "100.00", s19), line("-1", "20.00", s19)}},
		want:     totals{"80.00", "0.00", "0.00", "80.00", "15.20", "95.20", "95.20"},
		taxes:    []string{"S 19: 80.00 15.20"},
		lineNets: []string{"100.00", "-20.00"}},

	// 1 × -0.005 = -0.005 → -0.01 (away from zero, not towards +∞).
	{name: "negative half rounds away from zero",
		doc:      Document{Currency: "EUR", Lines: []Line{line("1", "-0.005")}},
		want:     totals{"-0.01", "0.00", "0.00", "-0.01", "0.00", "-0.01", "-0.01"},
		lineNets: []string{"-0.01"}},

	// -1 × 2.50 = -2.50. Tax -2.50 × 19% = -0.475 → -0.48. -2.98.
	{name: "negative tax half rounds away from zero",
		doc:   Document{Currency: "EUR", Lines: []Line{line("-1", "2.50", s19)}},
		want:  totals{"-2.50", "0.00", "0.00", "-2.50", "-0.48", "-2.98", "-2.98"},
		taxes: []string{"S 19: -2.50 -0.48"}},

	// 10,000,000 × 0.0123 = 123000.00. Tax × 19% = 23370.00.
	{name: "quantity ten million",
		doc:   Document{Currency: "EUR", Lines: []Line{line("10000000", "0.0123", s19)}},
		want:  totals{"123000.00", "0.00", "0.00", "123000.00", "23370.00", "146370.00", "146370.00"},
		taxes: []string{"S 19: 123000.00 23370.00"}},

	// 5000 × 0.000001 = 0.005 → 0.01. Tax 0.01 × 19% = 0.0019 → 0.00.
	{name: "unit price 0.000001",
		doc:   Document{Currency: "EUR", Lines: []Line{line("5000", "0.000001", s19)}},
		want:  totals{"0.01", "0.00", "0.00", "0.01", "0.00", "0.01", "0.01"},
		taxes: []string{"S 19: 0.01 0.00"}},

	// 3 × 0.333333333333 = 0.999999999999 → 1.00.
	{name: "twelve fraction digits",
		doc:  Document{Currency: "EUR", Lines: []Line{line("3", "0.333333333333")}},
		want: totals{"1.00", "0.00", "0.00", "1.00", "0.00", "1.00", "1.00"}},

	// Tax is rounded once per group, not per line: 3 × 0.05 = 0.15 at
	// 10% is 0.015 → 0.02 (per line it would be 3 × 0.01 = 0.03).
	{name: "tax rounded per group",
		doc:   Document{Currency: "EUR", Lines: []Line{line("1", "0.05", s10), line("1", "0.05", s10), line("1", "0.05", s10)}},
		want:  totals{"0.15", "0.00", "0.00", "0.15", "0.02", "0.17", "0.17"},
		taxes: []string{"S 10: 0.15 0.02"}},

	// Lines 200.00 at 19% and 100.00 at 7%, an allowance of 20.00 in the
	// 19% group. 19%: 200.00 - 20.00 = 180.00, tax 34.20. 7%: 100.00, tax
	// 7.00. Net 300.00 - 20.00 = 280.00; tax 41.20; 321.20.
	{name: "mixed rates with a document allowance",
		doc: Document{Currency: "EUR", Lines: []Line{line("2", "100.00", s19), line("1", "100.00", s7)},
			Allowances: []AllowanceCharge{amountOf("20.00", ptr(s19))}},
		want:   totals{"300.00", "20.00", "0.00", "280.00", "41.20", "321.20", "321.20"},
		taxes:  []string{"S 7: 100.00 7.00", "S 19: 180.00 34.20"},
		acNets: []string{"20.00"}},

	// 2 × 49.95 + 10.10 = 110.00; a 5% allowance: 5.50. Taxable 104.50 ×
	// 19% = 19.855 → 19.86. 104.50 + 19.86 = 124.36.
	{name: "percent allowance",
		doc: Document{Currency: "EUR", Lines: []Line{line("2", "49.95", s19), line("1", "10.10", s19)},
			Allowances: []AllowanceCharge{percentOf("5", ptr(s19))}},
		want:   totals{"110.00", "5.50", "0.00", "104.50", "19.86", "124.36", "124.36"},
		taxes:  []string{"S 19: 104.50 19.86"},
		acNets: []string{"5.50"}},

	// 100.00 + shipping 4.99 at 20%: taxable 104.99 × 20% = 20.998 →
	// 21.00. 104.99 + 21.00 = 125.99.
	{name: "charge",
		doc: Document{Currency: "EUR", Lines: []Line{line("1", "100.00", s20)},
			Charges: []AllowanceCharge{amountOf("4.99", ptr(s20))}},
		want:   totals{"100.00", "0.00", "4.99", "104.99", "21.00", "125.99", "125.99"},
		taxes:  []string{"S 20: 104.99 21.00"},
		acNets: []string{"4.99"}},

	// 33.33 at 20%, a 3% charge: 0.9999 → 1.00. Taxable 34.33 × 20% =
	// 6.866 → 6.87. 34.33 + 6.87 = 41.20.
	{name: "percent charge",
		doc: Document{Currency: "EUR", Lines: []Line{line("1", "33.33", s20)},
			Charges: []AllowanceCharge{percentOf("3", ptr(s20))}},
		want:   totals{"33.33", "0.00", "1.00", "34.33", "6.87", "41.20", "41.20"},
		taxes:  []string{"S 20: 34.33 6.87"},
		acNets: []string{"1.00"}},

	// Untaxed lines 40.00 + 60.00, a 2.5% allowance with no tax applies to
	// every line: 2.50. 100.00 - 2.50 = 97.50.
	{name: "percent allowance without tax",
		doc: Document{Currency: "EUR", Lines: []Line{line("1", "40.00"), line("1", "60.00")},
			Allowances: []AllowanceCharge{percentOf("2.5", nil)}},
		want:   totals{"100.00", "2.50", "0.00", "97.50", "0.00", "97.50", "97.50"},
		acNets: []string{"2.50"}},

	// A 10% allowance in the 19% group when no line carries 19%: its base
	// is 0.00 and so is its amount; the group shows up empty.
	{name: "percent allowance with zero base",
		doc: Document{Currency: "EUR", Lines: []Line{line("1", "100.00", s7)},
			Allowances: []AllowanceCharge{percentOf("10", ptr(s19))}},
		want:   totals{"100.00", "0.00", "0.00", "100.00", "7.00", "107.00", "107.00"},
		taxes:  []string{"S 7: 100.00 7.00", "S 19: 0.00 0.00"},
		acNets: []string{"0.00"}},

	// 250 × 12.34 per 100 = 30.85. Tax 30.85 × 19% = 5.8615 → 5.86.
	{name: "base quantity 100",
		doc: Document{Currency: "EUR", Lines: []Line{{Quantity: dec("250"), UnitPrice: dec("12.34"),
			BaseQuantity: dec("100"), Taxes: []Tax{s19}}}},
		want:  totals{"30.85", "0.00", "0.00", "30.85", "5.86", "36.71", "36.71"},
		taxes: []string{"S 19: 30.85 5.86"}},

	// 10.00 per 3 units: 1 unit = 3.333… → 3.33, 2 units = 6.666… → 6.67;
	// the division is done exactly, inside the rounding.
	{name: "base quantity 3 does not terminate",
		doc: Document{Currency: "EUR", Lines: []Line{
			{Quantity: dec("1"), UnitPrice: dec("10.00"), BaseQuantity: dec("3")},
			{Quantity: dec("2"), UnitPrice: dec("10.00"), BaseQuantity: dec("3")}}},
		want:     totals{"10.00", "0.00", "0.00", "10.00", "0.00", "10.00", "10.00"},
		lineNets: []string{"3.33", "6.67"}},

	// "19" and "19.00" are the same rate: one group, reported with the
	// percentage of the first tax seen. 2 × 10.00, tax 3.80.
	{name: "19 and 19.00 are one group",
		doc:   Document{Currency: "EUR", Lines: []Line{line("1", "10.00", s19b), line("1", "10.00", s19)}},
		want:  totals{"20.00", "0.00", "0.00", "20.00", "3.80", "23.80", "23.80"},
		taxes: []string{"S 19.00: 20.00 3.80"}},

	// GST 5% and QST 9.975% on one line of 100.00: GST 5.00; QST 9.975 →
	// 9.98. Tax 14.98. Each tax's group is taxed on the whole 100.00.
	{name: "Canada GST and QST exclusive",
		doc:   Document{Currency: "CAD", Lines: []Line{line("1", "100.00", gst, qst)}},
		want:  totals{"100.00", "0.00", "0.00", "100.00", "14.98", "114.98", "114.98"},
		taxes: []string{"S 5: 100.00 5.00", "S 9.975: 100.00 9.98"}},

	// 100.00 with GST and QST, 50.00 with GST only. GST: 150.00 × 5% =
	// 7.50. QST: 100.00 × 9.975% = 9.975 → 9.98. Tax 17.48; 167.48.
	{name: "Canada GST and QST on one line, GST only on another",
		doc:   Document{Currency: "CAD", Lines: []Line{line("1", "100.00", gst, qst), line("1", "50.00", gst)}},
		want:  totals{"150.00", "0.00", "0.00", "150.00", "17.48", "167.48", "167.48"},
		taxes: []string{"S 5: 150.00 7.50", "S 9.975: 100.00 9.98"}},

	// Inclusive 50.00 with GST and QST, R = 14.975. Tax = 50 × 14.975 /
	// 114.975 = 6.5122… → 6.51; net 43.49. Split 6.51 by 5 : 9.975: GST
	// 2.1736… QST 4.3363…; floors 2.17 + 4.33 = 6.50, the missing cent
	// goes to the larger remainder (QST .0063 > GST .0036): 2.17, 4.34.
	{name: "Canada GST and QST inclusive",
		doc:      Document{Currency: "CAD", PricesIncludeTax: true, Lines: []Line{line("1", "50.00", qst, gst)}},
		want:     totals{"43.49", "0.00", "0.00", "43.49", "6.51", "50.00", "50.00"},
		taxes:    []string{"S 5: 43.49 2.17", "S 9.975: 43.49 4.34"},
		lineNets: []string{"43.49"}},

	// Inclusive: gross 2 × 59.50 = 119.00, allowance 11.90 gross: G =
	// 107.10. Tax = 107.10 × 19 / 119 = 17.10; net 90.00. Apportioned by
	// gross: line 90 × 119 / 107.1 = 100.00, allowance 90 × 11.9 / 107.1
	// = 10.00. 100.00 - 10.00 = 90.00.
	{name: "tax-inclusive with an allowance",
		doc: Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("2", "59.50", s19)},
			Allowances: []AllowanceCharge{amountOf("11.90", ptr(s19))}},
		want:     totals{"100.00", "10.00", "0.00", "90.00", "17.10", "107.10", "107.10"},
		taxes:    []string{"S 19: 90.00 17.10"},
		lineNets: []string{"100.00"}, acNets: []string{"10.00"}},

	// Inclusive 119.00 at 19%: tax 19.00, net 100.00. 107.00 at 7%: tax
	// 7.00, net 100.00. Total 226.00.
	{name: "tax-inclusive mixed rates",
		doc:      Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("1", "119.00", s19), line("1", "107.00", s7)}},
		want:     totals{"200.00", "0.00", "0.00", "200.00", "26.00", "226.00", "226.00"},
		taxes:    []string{"S 7: 100.00 7.00", "S 19: 100.00 19.00"},
		lineNets: []string{"100.00", "100.00"}},

	// Inclusive 3 × 10.00 at 19%: G = 30.00, tax = 570 / 119 = 4.7899… →
	// 4.79, net 25.21. Each line's share 25.21 / 3 = 8.4033…; floors 3 ×
	// 8.40 = 25.20, the missing cent goes to the first of the equal
	// remainders. (Per line it would be 3 × 1.60 = 4.80 of tax.)
	{name: "tax-inclusive net apportioned by largest remainder",
		doc: Document{Currency: "EUR", PricesIncludeTax: true,
			Lines: []Line{line("1", "10.00", s19), line("1", "10.00", s19), line("1", "10.00", s19)}},
		want:     totals{"25.21", "0.00", "0.00", "25.21", "4.79", "30.00", "30.00"},
		taxes:    []string{"S 19: 25.21 4.79"},
		lineNets: []string{"8.41", "8.40", "8.40"}},

	// Inclusive 119.00 at 19% with a 10% allowance (base 119.00, 11.90
	// gross) and 53.50 at 7% with a 5.35 charge. 19%: G = 107.10, tax
	// 17.10, net 90.00 = line 100.00 - allowance 10.00. 7%: G = 58.85,
	// tax = 58.85 × 7 / 107 = 3.85, net 55.00 = line 55 × 53.50 / 58.85
	// = 50.00 + charge 5.00. Gross 119 + 53.5 - 11.9 + 5.35 = 165.95.
	{name: "tax-inclusive percent allowance and charge on two rates",
		doc: Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("1", "119.00", s19), line("1", "53.50", s7)},
			Allowances: []AllowanceCharge{percentOf("10", ptr(s19))}, Charges: []AllowanceCharge{amountOf("5.35", ptr(s7))}},
		want:     totals{"150.00", "10.00", "5.00", "145.00", "20.95", "165.95", "165.95"},
		taxes:    []string{"S 7: 55.00 3.85", "S 19: 90.00 17.10"},
		lineNets: []string{"100.00", "50.00"}, acNets: []string{"10.00", "5.00"}},

	// Inclusive refund -1 × 11.90 at 19%: tax = -11.90 × 19 / 119 =
	// -1.90; net -10.00.
	{name: "tax-inclusive refund line",
		doc:      Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("-1", "11.90", s19)}},
		want:     totals{"-10.00", "0.00", "0.00", "-10.00", "-1.90", "-11.90", "-11.90"},
		taxes:    []string{"S 19: -10.00 -1.90"},
		lineNets: []string{"-10.00"}},

	// Inclusive -0.03 at 20%: tax = -0.03 × 20 / 120 = -0.005 → -0.01
	// (away from zero); net -0.02.
	{name: "tax-inclusive negative half rounds away from zero",
		doc:      Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("-1", "0.03", s20)}},
		want:     totals{"-0.02", "0.00", "0.00", "-0.02", "-0.01", "-0.03", "-0.03"},
		taxes:    []string{"S 20: -0.02 -0.01"},
		lineNets: []string{"-0.02"}},

	// Inclusive 10.00 and its refund at 19%: G = 0, tax 0, net 0. The
	// shares are the lines' own nets ±1000 / 119 = ±8.4033…; floors 8.40
	// and -8.41 sum to -0.01, the cent goes to the larger remainder
	// (-8.4033 - -8.41 = .0066 > .0033): 8.40 and -8.40.
	{name: "tax-inclusive line and its refund",
		doc:      Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("1", "10.00", s19), line("-1", "10.00", s19)}},
		want:     totals{"0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"},
		taxes:    []string{"S 19: 0.00 0.00"},
		lineNets: []string{"8.40", "-8.40"}},

	// Inclusive untaxed line: the net is the gross, 10.00; no group.
	{name: "tax-inclusive untaxed line",
		doc:      Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("1", "10.00")}},
		want:     totals{"10.00", "0.00", "0.00", "10.00", "0.00", "10.00", "10.00"},
		lineNets: []string{"10.00"}},

	// Inclusive zero-rated 5 × 2.00: tax 0.00, net 10.00.
	{name: "tax-inclusive zero-rated",
		doc:   Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("5", "2.00", z0)}},
		want:  totals{"10.00", "0.00", "0.00", "10.00", "0.00", "10.00", "10.00"},
		taxes: []string{"Z 0: 10.00 0.00"}},

	// 100.00 at 19% = 119.00, 50.00 paid: 69.00 due.
	{name: "partly paid",
		doc:   Document{Currency: "EUR", Lines: []Line{line("1", "100.00", s19)}},
		paid:  "50.00",
		want:  totals{"100.00", "0.00", "0.00", "100.00", "19.00", "119.00", "69.00"},
		taxes: []string{"S 19: 100.00 19.00"}},

	// Paid 50.005 is rounded to 50.01: 119.00 - 50.01 = 68.99 due.
	{name: "paid is rounded to the currency",
		doc:   Document{Currency: "EUR", Lines: []Line{line("1", "100.00", s19)}},
		paid:  "50.005",
		want:  totals{"100.00", "0.00", "0.00", "100.00", "19.00", "119.00", "68.99"},
		taxes: []string{"S 19: 100.00 19.00"}},

	// Overpaid: 10.00 untaxed, 12.00 paid: -2.00 due.
	{name: "overpaid",
		doc:  Document{Currency: "EUR", Lines: []Line{line("1", "10.00")}},
		paid: "12",
		want: totals{"10.00", "0.00", "0.00", "10.00", "0.00", "10.00", "-2.00"}},

	// No lines: every total 0.00, no groups.
	{name: "empty document",
		doc:  Document{Currency: "EUR"},
		want: totals{"0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"}},

	// Explicit zero base quantity means 1: 4 × 2.50 = 10.00.
	{name: "zero base quantity means 1",
		doc: Document{Currency: "EUR", Lines: []Line{{Quantity: dec("4"), UnitPrice: dec("2.50"),
			BaseQuantity: dec("0.000")}}},
		want: totals{"10.00", "0.00", "0.00", "10.00", "0.00", "10.00", "10.00"}},
}

func TestCalculate_WorkedCases(t *testing.T) {
	for _, tc := range calcCases {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.doc
			paid := money.Zero
			if tc.paid != "" {
				paid = dec(tc.paid)
			}
			if err := d.Calculate(paid); err != nil {
				t.Fatalf("Calculate: %v", err)
			}
			got := d.Totals
			want := tc.want
			for _, c := range []struct {
				name string
				got  money.Decimal
				want string
			}{
				{"lines_net", got.LinesNet, want.linesNet},
				{"allowances", got.Allowances, want.allowances},
				{"charges", got.Charges, want.charges},
				{"tax_exclusive", got.TaxExclusive, want.taxExclusive},
				{"tax", got.Tax, want.tax},
				{"tax_inclusive", got.TaxInclusive, want.taxInclusive},
				{"due", got.Due, want.due},
				{"rounding", got.Rounding, money.Zero.Round(int32(d.Currency.Digits())).String()},
			} {
				if c.got.String() != c.want {
					t.Errorf("%s: got %s, want %s", c.name, c.got, c.want)
				}
			}
			var groups []string
			for _, s := range d.Taxes {
				g := fmt.Sprintf("%s %s: %s %s", s.Category, s.Percentage, s.Taxable, s.Tax)
				if s.ExemptionReason != "" || s.ExemptionReasonCode != "" {
					g += fmt.Sprintf(" (%s %s)", s.ExemptionReasonCode, s.ExemptionReason)
				}
				groups = append(groups, g)
			}
			if !slices.Equal(groups, tc.taxes) {
				t.Errorf("taxes: got %q, want %q", groups, tc.taxes)
			}
			if tc.lineNets != nil {
				var nets []string
				for _, l := range d.Lines {
					nets = append(nets, l.Net.String())
				}
				if !slices.Equal(nets, tc.lineNets) {
					t.Errorf("line nets: got %q, want %q", nets, tc.lineNets)
				}
			}
			if tc.acNets != nil {
				var nets []string
				for _, a := range slices.Concat(d.Allowances, d.Charges) {
					nets = append(nets, a.Net.String())
				}
				if !slices.Equal(nets, tc.acNets) {
					t.Errorf("allowance and charge nets: got %q, want %q", nets, tc.acNets)
				}
			}
		})
	}
}

// TestCalculate_LineAmounts checks the line fields themselves: gross,
// discount and net.
func TestCalculate_LineAmounts(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		inclusive            bool
		line                 Line
		gross, discount, net string
	}{
		// 1 × 8500.00 - 7500.00: gross 1000.00, discount 7500.00.
		{"discount amount", false, Line{Quantity: dec("1"), UnitPrice: dec("8500.00"), DiscountAmount: dec("7500.00"), Taxes: []Tax{s19}},
			"1000.00", "7500.00", "1000.00"},
		// Discount amount 0.125 is rounded to the currency: 0.13.
		{"discount amount rounded", false, Line{Quantity: dec("1"), UnitPrice: dec("1.00"), DiscountAmount: dec("0.125")},
			"0.87", "0.13", "0.87"},
		// 3 × 33.33 = 99.99, 50% = 49.995 → 50.00, gross 49.99.
		{"discount percent half", false, Line{Quantity: dec("3"), UnitPrice: dec("33.33"), DiscountPercent: dec("50")},
			"49.99", "50.00", "49.99"},
		// Inclusive 119.00 at 19%: gross 119.00, net 100.00.
		{"inclusive", true, line("1", "119.00", s19), "119.00", "0.00", "100.00"},
		// Discount on the exact amount: 1 × 10.00 per 3 = 3.333…, 50% of
		// it = 1.666… → 1.67; 3.33 - 1.67 = 1.66.
		{"discount of an unrounded amount", false, Line{Quantity: dec("1"), UnitPrice: dec("10.00"), BaseQuantity: dec("3"), DiscountPercent: dec("50")},
			"1.66", "1.67", "1.66"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Document{Currency: "EUR", PricesIncludeTax: tc.inclusive, Lines: []Line{tc.line}}
			if err := d.Calculate(money.Zero); err != nil {
				t.Fatal(err)
			}
			l := d.Lines[0]
			if l.Gross.String() != tc.gross || l.Discount.String() != tc.discount || l.Net.String() != tc.net {
				t.Errorf("gross, discount, net: got %s, %s, %s, want %s, %s, %s", l.Gross, l.Discount, l.Net, tc.gross, tc.discount, tc.net)
			}
		})
	}
}

// TestCalculate_AllowanceBase checks Base: the gross of the lines in the
// allowance's group for a percentage, zero for an amount.
func TestCalculate_AllowanceBase(t *testing.T) {
	d := Document{Currency: "EUR", Lines: []Line{line("1", "100.00", s19), line("1", "30.00", s7), line("1", "20.00", s19, s7)},
		Allowances: []AllowanceCharge{percentOf("10", ptr(s19)), amountOf("1.00", ptr(s7))},
		Charges:    []AllowanceCharge{percentOf("1", ptr(s7))}}
	if err := d.Calculate(money.Zero); err != nil {
		t.Fatal(err)
	}
	// 19% lines: 100.00 + 20.00 = 120.00, 10% = 12.00. 7% lines: 30.00 +
	// 20.00 = 50.00, 1% = 0.50.
	for _, c := range []struct {
		name      string
		got       AllowanceCharge
		base, net string
	}{
		{"allowances[0]", d.Allowances[0], "120.00", "12.00"},
		{"allowances[1]", d.Allowances[1], "0.00", "1.00"},
		{"charges[0]", d.Charges[0], "50.00", "0.50"},
	} {
		if c.got.Base.String() != c.base || c.got.Net.String() != c.net {
			t.Errorf("%s base, net: got %s, %s, want %s, %s", c.name, c.got.Base, c.got.Net, c.base, c.net)
		}
	}
}

func TestCalculate_RefusesWhatItCannotCompute(t *testing.T) {
	for _, tc := range []struct {
		name  string
		doc   Document
		field string
	}{
		{"negative base quantity", Document{Currency: "EUR", Lines: []Line{line("1", "1.00"),
			{Quantity: dec("1"), UnitPrice: dec("1"), BaseQuantity: dec("-1")}}}, "lines[1].base_quantity"},
		{"unknown currency", Document{Currency: "XXX"}, "currency"},
		{"empty currency", Document{}, "currency"},
		{"negative tax rate", Document{Currency: "EUR", Lines: []Line{line("1", "1.00", tax("S", "-5"))}}, "lines[0].taxes[0].percentage"},
		{"inclusive rate of -100", Document{Currency: "EUR", PricesIncludeTax: true, Lines: []Line{line("1", "1.00", tax("S", "-100"))}}, "lines[0].taxes[0].percentage"},
		{"two taxes of one group", Document{Currency: "EUR", Lines: []Line{line("1", "1.00", s19, s19b)}}, "lines[0].taxes[1]"},
		{"both discounts", Document{Currency: "EUR", Lines: []Line{{Quantity: dec("1"), UnitPrice: dec("1"),
			DiscountPercent: dec("1"), DiscountAmount: dec("0.10")}}}, "lines[0].discount_amount"},
		{"allowance with amount and percent", Document{Currency: "EUR", Lines: []Line{line("1", "1.00")},
			Allowances: []AllowanceCharge{{Amount: dec("1"), Percent: dec("1")}}}, "allowances[0].amount"},
		{"negative allowance tax rate", Document{Currency: "EUR", Lines: []Line{line("1", "1.00")},
			Charges: []AllowanceCharge{amountOf("1", ptr(tax("S", "-1")))}}, "charges[0].tax.percentage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprintf("%+v", tc.doc)
			err := tc.doc.Calculate(money.Zero)
			if got, want := errs.KindOf(err), errs.Invalid; got != want {
				t.Fatalf("kind: got %v (%v), want %v", got, err, want)
			}
			if got, want := errs.CodeOf(err), "calculation_failed"; got != want {
				t.Errorf("code: got %q, want %q", got, want)
			}
			var e *errs.Error
			if !errors.As(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != tc.field {
				t.Errorf("fields: got %v, want %s first", err, tc.field)
			}
			if after := fmt.Sprintf("%+v", tc.doc); after != before {
				t.Errorf("document changed on error:\ngot  %s\nwant %s", after, before)
			}
		})
	}
}

// TestCalculate_Idempotent checks that Calculate reads only inputs: a second
// run gives the same document.
func TestCalculate_Idempotent(t *testing.T) {
	for _, tc := range calcCases {
		d := tc.doc
		d.Lines = slices.Clone(d.Lines)
		d.Allowances = slices.Clone(d.Allowances)
		d.Charges = slices.Clone(d.Charges)
		if err := d.Calculate(money.Zero); err != nil {
			t.Fatal(err)
		}
		first := fmt.Sprintf("%v", d)
		if err := d.Calculate(money.Zero); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%v", d); got != first {
			t.Errorf("%s: second run: got %s, want %s", tc.name, got, first)
		}
	}
}

// TestAllocate checks the largest remainder split directly.
func TestAllocate(t *testing.T) {
	c := calculator{p: 2, zero: dec("0.00"), unit: dec("0.01")}
	for _, tc := range []struct {
		name  string
		total string
		num   []string
		den   string
		want  []string
	}{
		// 1.00 in thirds: 0.333… each, the missing cent to the first.
		{"thirds", "1.00", []string{"1.00", "1.00", "1.00"}, "3", []string{"0.34", "0.33", "0.33"}},
		// Negated: exactly the negation.
		{"negative thirds", "-1.00", []string{"-1.00", "-1.00", "-1.00"}, "3", []string{"-0.34", "-0.33", "-0.33"}},
		// Negative denominator: same shares.
		{"negative denominator", "1.00", []string{"-1.00", "-1.00", "-1.00"}, "-3", []string{"0.34", "0.33", "0.33"}},
		// 0.10 by 1 : 2 : 7 = 0.01, 0.02, 0.07 exactly.
		{"exact", "0.10", []string{"0.10", "0.20", "0.70"}, "10", []string{"0.01", "0.02", "0.07"}},
		// 0.05 by 1:1 → 0.025 each: 0.03, 0.02.
		{"halves", "0.05", []string{"0.05", "0.05"}, "2", []string{"0.03", "0.02"}},
		// Largest remainder wins, not the first: 0.10 × (1, 2) / 3 =
		// 0.0333…, 0.0666…: floors 0.03, 0.06, the cent to the second.
		{"largest remainder", "0.10", []string{"0.10", "0.20"}, "3", []string{"0.03", "0.07"}},
		// Zero total with mixed signs (a line and its refund).
		{"zero total", "0", []string{"1.00", "-1.00"}, "3", []string{"0.33", "-0.33"}},
		{"zero total negated", "0", []string{"-1.00", "1.00"}, "3", []string{"-0.33", "0.33"}},
		{"nothing", "0.00", nil, "1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			num := make([]money.Decimal, len(tc.num))
			for i, s := range tc.num {
				num[i] = dec(s)
			}
			var got []string
			for _, v := range c.allocate(dec(tc.total), num, dec(tc.den)) {
				got = append(got, v.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
