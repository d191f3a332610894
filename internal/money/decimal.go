// Package money holds exact decimal numbers, ISO 4217 currencies and the
// rounding rule that every amount in Bursar follows (half away from zero).
//
// No floating point is used anywhere: a Decimal is an arbitrary-precision
// integer coefficient with a base-ten scale.
package money

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// MaxScale is the largest number of fraction digits a parsed Decimal may
// carry. Cloud cost exports use up to 10; 12 leaves room without inviting
// abuse.
const MaxScale = 12

// MaxDigits bounds the digits accepted by Parse, so that a hostile input
// cannot make arithmetic expensive.
const MaxDigits = 40

// ErrSyntax is returned (wrapped) by Parse for text that is not a plain
// decimal such as "12", "-0.5" or "1190.00".
var ErrSyntax = errors.New("not a decimal number")

var bigTen = big.NewInt(10)

// Decimal is an exact decimal number coef × 10^-scale. The zero value is 0.
// Decimals are immutable: every operation returns a new value.
type Decimal struct {
	coef  *big.Int // nil means zero
	scale int32
}

// Zero is the decimal 0.
var Zero = Decimal{}

// New returns coef × 10^-scale.
func New(coef int64, scale int32) Decimal {
	if scale < 0 {
		return Decimal{coef: new(big.Int).Mul(big.NewInt(coef), pow10(-scale))}
	}
	return Decimal{coef: big.NewInt(coef), scale: scale}
}

// NewFromInt returns the integer n as a Decimal.
func NewFromInt(n int64) Decimal { return New(n, 0) }

// FromMinor returns an amount of minor units (cents) of a currency with the
// given number of fraction digits, e.g. FromMinor(119000, 2) is 1190.00.
func FromMinor(minor int64, digits int32) Decimal { return New(minor, digits) }

// Parse reads a plain decimal: an optional minus sign, digits, and an
// optional fraction after a dot. Exponents, signs other than a leading minus,
// grouping separators, commas, hexadecimal, NaN and infinities are refused.
func Parse(s string) (Decimal, error) {
	if s == "" {
		return Decimal{}, fmt.Errorf("%w: empty", ErrSyntax)
	}
	body := s
	neg := false
	if body[0] == '-' {
		neg = true
		body = body[1:]
	}
	intPart, frac, hasDot := strings.Cut(body, ".")
	if intPart == "" {
		return Decimal{}, fmt.Errorf("%w: %q has no digits before the point", ErrSyntax, s)
	}
	if hasDot && frac == "" {
		return Decimal{}, fmt.Errorf("%w: %q has no digits after the point", ErrSyntax, s)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return Decimal{}, fmt.Errorf("%w: %q", ErrSyntax, s)
			}
		}
	}
	if len(frac) > MaxScale {
		return Decimal{}, fmt.Errorf("%w: %q has more than %d fraction digits", ErrSyntax, s, MaxScale)
	}
	if len(intPart)+len(frac) > MaxDigits {
		return Decimal{}, fmt.Errorf("%w: %q has more than %d digits", ErrSyntax, s, MaxDigits)
	}
	var c *big.Int
	if len(intPart)+len(frac) <= maxSmallDigits {
		// Every amount a person writes fits in 18 digits: build the
		// coefficient in a uint64 rather than through big.Int's parser.
		var v uint64
		for _, part := range []string{intPart, frac} {
			for i := 0; i < len(part); i++ {
				v = v*10 + uint64(part[i]-'0')
			}
		}
		c = new(big.Int).SetUint64(v)
	} else {
		var ok bool
		if c, ok = new(big.Int).SetString(intPart+frac, 10); !ok {
			return Decimal{}, fmt.Errorf("%w: %q", ErrSyntax, s)
		}
	}
	if neg {
		c.Neg(c)
	}
	return Decimal{coef: c, scale: int32(len(frac))}, nil // #nosec G115 -- len(frac) <= MaxScale, checked above
}

// maxSmallDigits is the most decimal digits that always fit in a uint64.
const maxSmallDigits = 19

// MustParse is Parse for constants in code and tests; it panics on bad input.
func MustParse(s string) Decimal {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

func pow10(n int32) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

func (d Decimal) c() *big.Int {
	if d.coef == nil {
		return new(big.Int)
	}
	return d.coef
}

// Scale is the number of fraction digits d carries.
func (d Decimal) Scale() int32 { return d.scale }

// rescale returns d's coefficient at a larger scale s (s >= d.scale).
func (d Decimal) rescale(s int32) *big.Int {
	if s == d.scale {
		return d.c()
	}
	return new(big.Int).Mul(d.c(), pow10(s-d.scale))
}

func align(a, b Decimal) (*big.Int, *big.Int, int32) {
	s := max(a.scale, b.scale)
	return a.rescale(s), b.rescale(s), s
}

// Add returns d + e.
func (d Decimal) Add(e Decimal) Decimal {
	x, y, s := align(d, e)
	return Decimal{coef: new(big.Int).Add(x, y), scale: s}
}

// Sub returns d - e.
func (d Decimal) Sub(e Decimal) Decimal {
	x, y, s := align(d, e)
	return Decimal{coef: new(big.Int).Sub(x, y), scale: s}
}

// Mul returns d × e exactly; the scale is the sum of the scales.
func (d Decimal) Mul(e Decimal) Decimal {
	return Decimal{coef: new(big.Int).Mul(d.c(), e.c()), scale: d.scale + e.scale}
}

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{coef: new(big.Int).Neg(d.c()), scale: d.scale} }

// Abs returns |d|.
func (d Decimal) Abs() Decimal { return Decimal{coef: new(big.Int).Abs(d.c()), scale: d.scale} }

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int { return d.c().Sign() }

// IsZero reports whether d is 0.
func (d Decimal) IsZero() bool { return d.Sign() == 0 }

// Cmp compares d and e: -1 if d < e, 0 if equal, +1 if d > e.
func (d Decimal) Cmp(e Decimal) int {
	x, y, _ := align(d, e)
	return x.Cmp(y)
}

// Equal reports whether d and e are the same number (1.0 equals 1.00).
func (d Decimal) Equal(e Decimal) bool { return d.Cmp(e) == 0 }

// quoRound returns num/den rounded half away from zero; den must not be 0.
func quoRound(num, den *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() == 0 {
		return q
	}
	// Round away from zero when 2|r| >= |den|.
	r2 := new(big.Int).Abs(r)
	r2.Lsh(r2, 1)
	if r2.Cmp(new(big.Int).Abs(den)) >= 0 {
		if (num.Sign() < 0) != (den.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// Round returns d rounded to scale fraction digits, half away from zero.
// Rounding to a scale at or above d's scale only adds zeros.
func (d Decimal) Round(scale int32) Decimal {
	if scale >= d.scale {
		return Decimal{coef: d.rescale(scale), scale: scale}
	}
	return Decimal{coef: quoRound(d.c(), pow10(d.scale-scale)), scale: scale}
}

// QuoRound returns d / e rounded half away from zero to scale fraction
// digits. It panics if e is zero; callers validate divisors first.
func (d Decimal) QuoRound(e Decimal, scale int32) Decimal {
	if e.IsZero() {
		panic("money: division by zero")
	}
	// d/e = (cd/10^sd) / (ce/10^se); result coef at scale s:
	// cd * 10^(s + se - sd) / ce.
	num := d.c()
	den := e.c()
	shift := scale + e.scale - d.scale
	if shift >= 0 {
		num = new(big.Int).Mul(num, pow10(shift))
	} else {
		den = new(big.Int).Mul(den, pow10(-shift))
	}
	return Decimal{coef: quoRound(num, den), scale: scale}
}

// Trim removes trailing fraction zeros: 1.500 becomes 1.5, 2.00 becomes 2.
func (d Decimal) Trim() Decimal {
	c := new(big.Int).Set(d.c())
	s := d.scale
	r := new(big.Int)
	for s > 0 {
		q, m := new(big.Int).QuoRem(c, bigTen, r)
		if m.Sign() != 0 {
			break
		}
		c = q
		s--
	}
	return Decimal{coef: c, scale: s}
}

// MinorUnits returns d, which must already be rounded to digits fraction
// digits or fewer, as an integer count of minor units. ok is false when the
// result does not fit in an int64 or d has more fraction digits.
func (d Decimal) MinorUnits(digits int32) (int64, bool) {
	if d.scale > digits {
		return 0, false
	}
	c := d.rescale(digits)
	if !c.IsInt64() {
		return 0, false
	}
	return c.Int64(), true
}

// String formats d with exactly its scale's fraction digits: "1190.00".
func (d Decimal) String() string { return string(d.append(nil)) }

// append appends String's text to b.
func (d Decimal) append(b []byte) []byte {
	c := d.c()
	if c.IsInt64() && d.scale >= 0 {
		// The common case, formatted without big.Int's allocations.
		v := c.Int64()
		var buf [24]byte
		digits := strconv.AppendUint(buf[:0], absUint64(v), 10)
		if v < 0 {
			b = append(b, '-')
		}
		return appendPointed(b, digits, int(d.scale))
	}
	neg := c.Sign() < 0
	digits := new(big.Int).Abs(c).String()
	if d.scale < 0 && c.Sign() != 0 {
		// Round and QuoRound to a negative scale (tens, hundreds) leave
		// the coefficient in those units.
		digits += strings.Repeat("0", int(-d.scale))
	}
	if neg {
		b = append(b, '-')
	}
	return appendPointed(b, []byte(digits), int(max(d.scale, 0)))
}

// appendPointed appends the digits of a coefficient with a decimal point
// placed scale digits from the right, padding with zeros as needed.
func appendPointed(b, digits []byte, scale int) []byte {
	if scale == 0 {
		return append(b, digits...)
	}
	if len(digits) <= scale {
		b = append(b, '0', '.')
		for range scale - len(digits) {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	cut := len(digits) - scale
	b = append(b, digits[:cut]...)
	b = append(b, '.')
	return append(b, digits[cut:]...)
}

func absUint64(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1 // #nosec G115 -- -(v+1) >= 0 here, and no overflow at math.MinInt64
	}
	return uint64(v) // #nosec G115 -- v >= 0 here
}

// MarshalText writes d's exact text. encoding/json quotes it, so a Decimal
// is always a JSON string, never a JSON number that a client could parse
// into a float by accident (and, unlike a MarshalJSON method, the encoder
// need not re-validate the output).
func (d Decimal) MarshalText() ([]byte, error) { return d.append(nil), nil }

// UnmarshalJSON accepts only a JSON string holding a plain decimal.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("%w: must be a string such as \"12.50\"", ErrSyntax)
	}
	v, err := Parse(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Value stores d as exact text.
func (d Decimal) Value() (driver.Value, error) { return d.String(), nil }

// Scan reads d from exact text.
func (d *Decimal) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case int64:
		*d = NewFromInt(v)
		return nil
	default:
		return fmt.Errorf("money: cannot scan %T into Decimal", src)
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
