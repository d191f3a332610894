// Package page holds cursor pagination, shared by every list in the API.
// Lists are ordered newest first by identifier (identifiers sort by creation
// time); a page continues strictly after the identifier StartingAfter.
package page

// Default and maximum page sizes.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Params select one page of a list.
type Params struct {
	Limit         int    // 1..MaxLimit; 0 means DefaultLimit
	StartingAfter string // the last id of the previous page, or ""
}

// Size returns the effective page size.
func (p Params) Size() int {
	if p.Limit <= 0 {
		return DefaultLimit
	}
	return min(p.Limit, MaxLimit)
}
