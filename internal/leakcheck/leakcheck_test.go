package leakcheck

import (
	"strconv"
	"strings"
	"testing"
)

func TestLuhn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"4111111111111111", true},  // Visa test number
		{"4111111111111112", false}, // last digit changed
		{"378282246310005", true},   // American Express test number
		{"5555555555554444", true},  // Mastercard test number
		{"79927398713", true},       // the textbook example
		{"79927398710", false},
		{"", false},
		{"4111x11111111111", false},
	} {
		if got := Luhn(tc.in); got != tc.want {
			t.Errorf("Luhn(%q): got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestScanCards(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string // kinds and lines found, as "kind@line"
	}{
		{"plain valid number", "card=4111111111111111 ok", []string{"card-number@1"}},
		{"grouped by spaces", "x\npaid with 4111 1111 1111 1111\n", []string{"card-number@2"}},
		{"grouped by dashes", "5555-5555-5555-4444", []string{"card-number@1"}},
		{"amex 4-6-5", "3782 822463 10005", []string{"card-number@1"}},
		{"glued to text as in a raw SQLite record", "Globex4111111111111111EUR", []string{"card-number@1"}},
		{"followed by an unrelated number", "4111 1111 1111 1111 12", []string{"card-number@1"}},
		{"glued to a short word that ends in hex letters", "Acme Trade4111111111111111", []string{"card-number@1"}},
		{"inside a hex digest", "hash:5402d4009ffe92ba82068971831076ba505e4c63f44771160cca33a518c70cc", nil},
		{"Luhn-invalid number", "card=4111111111111112", nil},
		{"too short", "411111111111", nil},
		{"twenty digits unbroken", "41111111111111111111", nil},
		{"double separator breaks the run", "4111  1111  1111  1111", nil},
		{"amounts and dates", "total 1190.00 EUR on 2026-11-27 16:51:46, INV-2026-00001", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range Scan([]byte(tc.in), nil) {
				got = append(got, string(f.Kind)+"@"+strconv.Itoa(f.Line))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("Scan(%q): got %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestScanSecrets(t *testing.T) {
	key := "bsk_" + strings.Repeat("a2", 16)
	for _, tc := range []struct {
		name    string
		in      string
		secrets []string
		want    []Kind
	}{
		{"API key shape in a log", `level=INFO msg=created key=` + key, nil, []Kind{APIKey}},
		{"known secret and its shape", "Authorization: Bearer " + key, []string{key}, []Kind{APIKey, Secret}},
		{"known secret of another shape", "token=s3cr3t-value", []string{"s3cr3t-value"}, []Kind{Secret}},
		{"display prefix only", "prefix=bsk_a2a2a2 name=CI", []string{key}, nil},
		{"empty secret ignored", "anything", []string{""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := Scan([]byte(tc.in), tc.secrets)
			var got []Kind
			for _, f := range fs {
				got = append(got, f.Kind)
				if strings.Contains(f.Sample, key) || strings.Contains(f.String(), "s3cr3t-value") {
					t.Errorf("finding %v repeats the secret", f)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Scan(%q): got %v, want %v", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("Scan(%q): got %v, want %v", tc.in, got, tc.want)
				}
			}
		})
	}
}
