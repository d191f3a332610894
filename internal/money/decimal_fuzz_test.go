package money

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it refuses wraps
// ErrSyntax, and that what it accepts survives String, JSON and rounding:
// Parse(d.String()) is d, at the same scale.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "-1.50", "1190.00", "-0", "0.000000000001", "1e3", ".5", "1.", "--1", "+1",
		"999999999999999999999999999.999999999999", "-0.005", "NaN", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q): got error %v, want one wrapping ErrSyntax", s, err)
			}
			return
		}
		e, err := Parse(d.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %s does not parse back: %v", s, d, err)
		}
		if !e.Equal(d) || e.Scale() != d.Scale() || e.String() != d.String() {
			t.Fatalf("Parse(%q): %s (scale %d) came back as %s (scale %d)", s, d, d.Scale(), e, e.Scale())
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var j Decimal
		if err := json.Unmarshal(b, &j); err != nil || !j.Equal(d) {
			t.Fatalf("JSON round trip of %s: got %s, %v", d, j, err)
		}
		for scale := int32(-2); scale <= MaxScale; scale++ {
			r := d.Round(scale)
			// Rounding moves the value by at most half a unit of the scale.
			if r.Sub(d).Abs().Mul(NewFromInt(2)).Cmp(New(1, scale)) > 0 {
				t.Fatalf("Round(%s, %d) = %s is more than half a unit away", d, scale, r)
			}
			if back, err := Parse(r.String()); err == nil && !back.Equal(r) {
				t.Fatalf("Round(%s, %d) = %s parses back as %s", d, scale, r, back)
			}
		}
	})
}
