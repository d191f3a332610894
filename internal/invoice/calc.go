package invoice

import "bursar/internal/money"

// Calculate computes every derived amount of the document from its lines,
// allowances and charges, exactly as DESIGN.md §4 says: line gross, discount
// and net; allowance and charge base and net; the tax breakdown per
// (category, rate) group; and the EN 16931 totals, with paid (BT-113) as
// given. It assumes the inputs were validated (see Service).
func (d *Document) Calculate(paid money.Decimal) error {
	panic("not yet implemented")
}
