package money

import "testing"

func TestParseCurrency(t *testing.T) {
	for _, tc := range []struct {
		code   string
		digits int32
	}{
		{"EUR", 2},
		{"USD", 2},
		{"JPY", 0},
		{"KRW", 0},
		{"KWD", 3},
		{"BHD", 3},
		{"CLF", 4},
		{"UYW", 4},
	} {
		c, err := ParseCurrency(tc.code)
		if err != nil {
			t.Errorf("ParseCurrency(%q): %v", tc.code, err)
			continue
		}
		if !c.Valid() {
			t.Errorf("%s.Valid(): got false, want true", c)
		}
		if got := c.Digits(); got != tc.digits {
			t.Errorf("%s.Digits(): got %d, want %d", c, got, tc.digits)
		}
	}
}

func TestParseCurrency_Rejects(t *testing.T) {
	for _, code := range []string{"eur", "Eur", "XXX", "XAU", "", "EURO", "EU", " EUR", "DEM"} {
		if c, err := ParseCurrency(code); err == nil {
			t.Errorf("ParseCurrency(%q): got %s, want an error", code, c)
		}
		if Currency(code).Valid() {
			t.Errorf("Currency(%q).Valid(): got true, want false", code)
		}
	}
}

func TestCurrency_Round(t *testing.T) {
	for _, tc := range []struct {
		cur  Currency
		in   string
		want string
	}{
		{"EUR", "1.005", "1.01"},
		{"EUR", "-1.005", "-1.01"},
		{"EUR", "7", "7.00"},
		{"JPY", "87.5", "88"},
		{"JPY", "-87.5", "-88"},
		{"KWD", "0.12345", "0.123"},
		{"KWD", "1.0005", "1.001"},
		{"CLF", "1.23456", "1.2346"},
	} {
		if got := tc.cur.Round(MustParse(tc.in)).String(); got != tc.want {
			t.Errorf("%s.Round(%s): got %s, want %s", tc.cur, tc.in, got, tc.want)
		}
	}
}

func TestCurrency_MinorAndAmount(t *testing.T) {
	for _, tc := range []struct {
		cur    Currency
		in     string
		minor  int64
		amount string
	}{
		{"EUR", "1190.00", 119000, "1190.00"},
		{"EUR", "0.125", 13, "0.13"},
		{"JPY", "1190", 1190, "1190"},
		{"KWD", "1.5", 1500, "1.500"},
		{"CLF", "-0.00005", -1, "-0.0001"},
	} {
		minor, ok := tc.cur.Minor(MustParse(tc.in))
		if !ok || minor != tc.minor {
			t.Errorf("%s.Minor(%s): got %d, %v, want %d", tc.cur, tc.in, minor, ok, tc.minor)
		}
		if got := tc.cur.Amount(minor).String(); got != tc.amount {
			t.Errorf("%s.Amount(%d): got %s, want %s", tc.cur, minor, got, tc.amount)
		}
	}
}
