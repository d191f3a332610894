// Package party holds what sellers and buyers share in EN 16931: postal
// addresses and tax identifiers.
package party

import (
	"bursar/internal/errs"
	"regexp"
)

// Address is a postal address (EN 16931 BG-5 / BG-8).
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Region     string `json:"region"`
	Country    string `json:"country"` // ISO 3166-1 alpha-2
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// ValidCountry reports whether c has the shape of an ISO 3166-1 alpha-2 code.
func ValidCountry(c string) bool { return countryRE.MatchString(c) }

// Validate adds a field error for each bad part of a under the prefix.
func (a Address) Validate(prefix string, f *errs.Fields) {
	if a.Country != "" && !ValidCountry(a.Country) {
		f.Add(prefix+".country", "must be an ISO 3166-1 alpha-2 code such as DE")
	}
	// A slice, not a map, so that errors come in a stable order.
	for _, p := range [...]struct{ name, v string }{{"line1", a.Line1}, {"line2", a.Line2}, {"city", a.City},
		{"postal_code", a.PostalCode}, {"region", a.Region}} {
		if len(p.v) > 200 {
			f.Add(prefix+"."+p.name, "must be at most 200 characters")
		}
	}
}
