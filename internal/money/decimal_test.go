package money

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestParse_Accepts(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  string
		scale int32
	}{
		{"0", "0", 0},
		{"-1.50", "-1.50", 2},
		{"1190.00", "1190.00", 2},
		{"12", "12", 0},
		{"-0.5", "-0.5", 1},
		{"-0", "0", 0},
		{"-0.00", "0.00", 2},
		{"007", "7", 0},
		{"0.000000000001", "0.000000000001", 12},
		{"999999999999999999999999999.999999999999", "999999999999999999999999999.999999999999", 12},
		{strings.Repeat("9", MaxDigits), strings.Repeat("9", MaxDigits), 0},
	} {
		d, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := d.String(); got != tc.want {
			t.Errorf("Parse(%q).String(): got %q, want %q", tc.in, got, tc.want)
		}
		if got := d.Scale(); got != tc.scale {
			t.Errorf("Parse(%q).Scale(): got %d, want %d", tc.in, got, tc.scale)
		}
	}
}

func TestParse_Rejects(t *testing.T) {
	for _, in := range []string{
		"", "1e3", "1E3", "NaN", "nan", "0x10", "1,5", "1,000.00", "+1", " 1", "1 ", "1.", ".5", "-.5", "--1",
		"-", ".", "Infinity", "-Infinity", "inf", "1_000", "1.2.3", "½", "١", "1\x00",
		"0.0000000000001",                    // 13 fraction digits
		strings.Repeat("9", MaxDigits+1),     // 41 digits
		"1" + strings.Repeat("0", MaxDigits), // 41 digits
		"1-", "1.-5", "- 1",
	} {
		d, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q): got %s, want an error", in, d)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): got error %v, want one wrapping ErrSyntax", in, err)
		}
	}
}

func TestMustParse_PanicsOnBadInput(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse(\"1e3\"): got no panic, want one")
		}
	}()
	MustParse("1e3")
}

func TestRound_HalfAwayFromZero(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale int32
		want  string
	}{
		{"2.5", 0, "3"},
		{"-2.5", 0, "-3"},
		{"3.5", 0, "4"}, // not to even
		{"0.5", 0, "1"},
		{"-0.5", 0, "-1"},
		{"0.4999999", 0, "0"},
		{"-0.4999999", 0, "0"},
		{"0.125", 2, "0.13"},
		{"-0.125", 2, "-0.13"},
		{"0.124", 2, "0.12"},
		{"1.005", 2, "1.01"},
		{"-0.005", 2, "-0.01"},
		{"0.0049", 2, "0.00"},
		{"9.995", 2, "10.00"},
		{"-9.995", 2, "-10.00"},
		{"0.12345", 3, "0.123"},
		{"1.5", 3, "1.500"}, // a larger scale only adds zeros
		{"7", 2, "7.00"},
		{"0", 2, "0.00"},
		{"1.00005", 4, "1.0001"},
		{"15", -1, "20"}, // to tens
		{"-15", -1, "-20"},
		{"149", -2, "100"},
		{"4", -1, "0"},
	} {
		if got := MustParse(tc.in).Round(tc.scale).String(); got != tc.want {
			t.Errorf("Round(%s, %d): got %s, want %s", tc.in, tc.scale, got, tc.want)
		}
	}
}

func TestRound_ZeroValue(t *testing.T) {
	var d Decimal
	if got, want := d.Round(2).String(), "0.00"; got != want {
		t.Errorf("zero value Round(2): got %s, want %s", got, want)
	}
}

func TestQuoRound(t *testing.T) {
	for _, tc := range []struct {
		num, den string
		scale    int32
		want     string
	}{
		{"1", "3", 2, "0.33"},
		{"2", "3", 2, "0.67"},
		{"-2", "3", 2, "-0.67"},
		{"2", "-3", 2, "-0.67"},
		{"-2", "-3", 2, "0.67"},
		{"1", "8", 2, "0.13"}, // 0.125
		{"-1", "8", 2, "-0.13"},
		{"1", "-8", 2, "-0.13"},
		{"-1", "-8", 2, "0.13"},
		{"9000", "106", 2, "84.91"}, // 1500 × 6 / 106
		{"10", "0.3", 4, "33.3333"},
		{"1", "3", 0, "0"},
		{"2", "4", 0, "1"},
		{"0.001", "1000", 2, "0.00"},
		{"123.456", "0.001", 0, "123456"},
		{"5", "1", 3, "5.000"},
		{"0", "7", 2, "0.00"},
		{"150", "1", -2, "200"},
	} {
		if got := MustParse(tc.num).QuoRound(MustParse(tc.den), tc.scale).String(); got != tc.want {
			t.Errorf("QuoRound(%s / %s, %d): got %s, want %s", tc.num, tc.den, tc.scale, got, tc.want)
		}
	}
}

func TestQuoRound_DivisionByZeroPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("QuoRound by 0: got no panic, want one")
		}
	}()
	NewFromInt(1).QuoRound(MustParse("0.00"), 2)
}

func TestArithmetic(t *testing.T) {
	a, b := MustParse("1190.00"), MustParse("-0.125")
	for _, tc := range []struct {
		name string
		got  Decimal
		want string
	}{
		{"add", a.Add(b), "1189.875"},
		{"sub", a.Sub(b), "1190.125"},
		{"mul", a.Mul(b), "-148.75000"},
		{"neg", b.Neg(), "0.125"},
		{"abs", b.Abs(), "0.125"},
		{"trim", MustParse("1.500").Trim(), "1.5"},
		{"trim integer", MustParse("2.00").Trim(), "2"},
		{"trim zero", MustParse("0.000").Trim(), "0"},
		{"trim nothing", MustParse("100").Trim(), "100"},
		{"zero value add", Decimal{}.Add(MustParse("1.5")), "1.5"},
		{"zero", Zero, "0"},
		{"new", New(-5, 3), "-0.005"},
		{"new negative scale", New(12, -3), "12000"},
		{"from int", NewFromInt(-42), "-42"},
		{"from minor", FromMinor(119000, 2), "1190.00"},
		{"from minor JPY", FromMinor(119000, 0), "119000"},
	} {
		if got := tc.got.String(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestCmp(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.00", 0},
		{"1", "1.000000000001", -1},
		{"-1", "-1.5", 1},
		{"0", "-0", 0},
		{"10", "9.99", 1},
	} {
		a, b := MustParse(tc.a), MustParse(tc.b)
		if got := a.Cmp(b); got != tc.want {
			t.Errorf("Cmp(%s, %s): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := a.Equal(b); got != (tc.want == 0) {
			t.Errorf("Equal(%s, %s): got %v, want %v", tc.a, tc.b, got, tc.want == 0)
		}
	}
	if got := MustParse("-0.01").Sign(); got != -1 {
		t.Errorf("Sign(-0.01): got %d, want -1", got)
	}
	if !MustParse("0.00").IsZero() || !(Decimal{}).IsZero() {
		t.Error("IsZero(0.00) and IsZero(zero value): got false, want true")
	}
}

// TestImmutable checks that operations never change their operands, which
// share coefficients.
func TestImmutable(t *testing.T) {
	a := MustParse("1.25")
	b := a.Round(2) // may share a's coefficient
	_ = a.Add(b).Sub(b).Mul(b).Neg().Abs().Round(1).QuoRound(b, 3).Trim()
	_ = b.Neg()
	if a.String() != "1.25" || b.String() != "1.25" {
		t.Errorf("after operations: got %s and %s, want 1.25 and 1.25", a, b)
	}
}

func TestString_RoundTrips(t *testing.T) {
	for _, s := range []string{"0", "0.00", "-0.005", "1190.00", "-1.50", "123456789012345678901234567890.0000000001", "0.000000000001"} {
		d := MustParse(s)
		if got := d.String(); got != s {
			t.Errorf("Parse(%q).String(): got %q", s, got)
		}
		e, err := Parse(d.String())
		if err != nil || !e.Equal(d) || e.Scale() != d.Scale() {
			t.Errorf("Parse(%q): got %v, %v, want %s", d.String(), e, err, d)
		}
	}
}

func TestMinorUnits(t *testing.T) {
	for _, tc := range []struct {
		in     string
		digits int32
		want   int64
		ok     bool
	}{
		{"1190.00", 2, 119000, true},
		{"1.5", 2, 150, true},
		{"-0.01", 2, -1, true},
		{"100", 0, 100, true},
		{"1.234", 3, 1234, true},
		{"1.005", 2, 0, false}, // more digits than the currency has
		{"92233720368547758.07", 2, 9223372036854775807, true},
		{"92233720368547758.08", 2, 0, false}, // beyond int64
		{"-92233720368547758.08", 2, -9223372036854775808, true},
		{"0", 4, 0, true},
	} {
		got, ok := MustParse(tc.in).MinorUnits(tc.digits)
		if got != tc.want || ok != tc.ok {
			t.Errorf("MinorUnits(%s, %d): got %d, %v, want %d, %v", tc.in, tc.digits, got, ok, tc.want, tc.ok)
		}
	}
}

func TestJSON_Marshal(t *testing.T) {
	b, err := json.Marshal(struct {
		Amount Decimal `json:"amount"`
		Zero   Decimal `json:"zero"`
	}{MustParse("12.50"), Decimal{}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"amount":"12.50","zero":"0"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestJSON_Unmarshal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for an error
	}{
		{`"12.50"`, "12.50"},
		{`"-0.5"`, "-0.5"},
		{`"0"`, "0"},
		{`12.5`, ""}, // a JSON number: refused, it may have been a float
		{`12`, ""},
		{`"1e3"`, ""},
		{`"12,5"`, ""},
		{`""`, ""},
		{`null`, ""},
		{`true`, ""},
		{`"`, ""},
		{`" 1"`, ""},
	} {
		var v struct {
			Amount Decimal `json:"amount"`
		}
		err := json.Unmarshal([]byte(`{"amount":`+tc.in+`}`), &v)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("Unmarshal(%s): got %s, want an error", tc.in, v.Amount)
		case tc.want != "" && err != nil:
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
		case tc.want != "" && v.Amount.String() != tc.want:
			t.Errorf("Unmarshal(%s): got %s, want %s", tc.in, v.Amount, tc.want)
		}
	}
	// Called directly, a lone quote is refused too.
	var d Decimal
	if err := d.UnmarshalJSON([]byte(`"`)); !errors.Is(err, ErrSyntax) {
		t.Errorf(`UnmarshalJSON("): got %v, want ErrSyntax`, err)
	}
}

func TestJSON_RoundTrip(t *testing.T) {
	for _, s := range []string{"0", "1190.00", "-0.005", "0.000000000001"} {
		b, err := json.Marshal(MustParse(s))
		if err != nil {
			t.Fatal(err)
		}
		var d Decimal
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if d.String() != s {
			t.Errorf("round trip of %s: got %s", s, d)
		}
	}
}

func TestSQL_ValueAndScan(t *testing.T) {
	v, err := MustParse("1190.00").Value()
	if err != nil || v != "1190.00" {
		t.Errorf("Value: got %v, %v, want 1190.00", v, err)
	}
	for _, tc := range []struct {
		src  any
		want string
	}{
		{"1190.00", "1190.00"},
		{[]byte("-0.50"), "-0.50"},
		{int64(42), "42"},
	} {
		var d Decimal
		if err := d.Scan(tc.src); err != nil || d.String() != tc.want {
			t.Errorf("Scan(%#v): got %s, %v, want %s", tc.src, d, err, tc.want)
		}
	}
	for _, src := range []any{nil, true, "1e3", []byte("abc")} {
		var d Decimal
		if err := d.Scan(src); err == nil {
			t.Errorf("Scan(%#v): got %s, want an error", src, d)
		}
	}
}

// String's int64 fast path and its big.Int path must write the same text:
// New builds coefficients on both sides of the int64 boundary.
func TestString_FastAndBigPathsAgree(t *testing.T) {
	big19 := new(big.Int).Lsh(big.NewInt(1), 63) // 2^63, one past int64
	tests := []struct {
		d    Decimal
		want string
	}{
		{New(5, 2), "0.05"},
		{New(-5, 2), "-0.05"},
		{New(5, 0), "5"},
		{New(0, 3), "0.000"},
		{New(-1234, 3), "-1.234"},
		{New(math.MinInt64, 2), "-92233720368547758.08"},
		{New(math.MaxInt64, 19), "0.9223372036854775807"},
		{Decimal{coef: big19, scale: 2}, "92233720368547758.08"},
		{Decimal{coef: new(big.Int).Neg(big19), scale: 21}, "-0.009223372036854775808"},
		{Decimal{coef: big.NewInt(12), scale: -2}, "1200"},
		{Decimal{coef: big.NewInt(-12), scale: -1}, "-120"},
		{Decimal{coef: big.NewInt(0), scale: -2}, "0"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String(%v×10^-%d) = %q, want %q", tt.d.coef, tt.d.scale, got, tt.want)
		}
	}
}

// Parse's uint64 fast path (up to 19 digits) and its big.Int path must
// read the same numbers.
func TestParse_FastPathAgreesWithBigInt(t *testing.T) {
	for _, s := range []string{"9999999999999999999", "999999999.9999999999", "-1844674407370955161.5",
		"18446744073709551615", "0.000000000001", "-0", "00012.340"} {
		d, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		digits := strings.Replace(strings.TrimPrefix(s, "-"), ".", "", 1)
		want, _ := new(big.Int).SetString(digits, 10)
		if strings.HasPrefix(s, "-") {
			want.Neg(want)
		}
		_, frac, _ := strings.Cut(s, ".")
		if d.coef.Cmp(want) != 0 || int(d.Scale()) != len(frac) {
			t.Errorf("Parse(%q) = %v×10^-%d, want %v×10^-%d", s, d.coef, d.Scale(), want, len(frac))
		}
	}
}
