package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// canonicalInputs are the documents on which canonicalJSON must give
// canonicalJSONSlow's bytes and outcome: what json.Marshal writes, and
// what it does not (white space, duplicate and unsorted keys, every kind
// of escape, invalid UTF-8, odd numbers, invalid documents).
var canonicalInputs = []string{
	// Objects and arrays.
	`{}`,
	`[]`,
	`{"a":{}}`,
	`[[],{},[{}]]`,
	`{"b":1,"a":2}`,
	`{"a":1,"b":2,"c":3}`,
	`{"z":{"y":[{"x":1,"w":2},{"v":[3,{"u":4,"t":5}]}],"s":null},"r":true,"q":false}`,
	`{"id":"inv_1","amount":"12.50","currency":"EUR","lines":[{"sku":"A","qty":2},{"sku":"B","qty":1}],"customer":{"name":"Acme","vat":"FR1"}}`,
	// Duplicate keys: the last wins, also when the keys differ only in
	// their escapes or decode to the same replacement character.
	`{"a":1,"a":2}`,
	`{"a":1,"b":0,"a":2,"a":3}`,
	`{"a":{"x":1,"x":2},"a":[1]}`,
	`{"a":1,"\u0061":2}`,
	`{"\u0061":1,"a":2}`,
	"{\"\xff\":1,\"\xfe\":2}",
	`{"\ud800":1,"\udc00":2}`,
	`{"":1,"":2}`,
	// Keys that sort by bytes, not by rune or case, and need escapes.
	`{"b":1,"B":2,"é":3,"e":4,"_":5,"1":6,"":7}`,
	`{"\u00e9":1,"z":2}`,
	`{"a\"b":1,"a\\b":2,"a/b":3,"a\/c":4}`,
	`{"<":1,"\u003e":2,"&":3,"\u2028":4,"\n":5,"\u0000":6}`,
	`{"ab":1,"a":2,"abc":3,"a\u0000":4}`,
	// Strings.
	`"plain"`,
	`""`,
	`"\u003cb\u003e \u0026 \u003c/b\u003e"`,
	`"<b> & </b>"`,
	`"line\u2028separator\u2029paragraph"`,
	"\"raw\u2028separator\u2029paragraph\"",
	"\"raw\u2028separator only\"",
	"\"raw\u2029paragraph separator only\"",
	"{\"\u2029\":1,\"\u2028\":2}",
	"\"invalid \xff\xfe UTF-8 \xc3\"",
	"\"truncated \xe2\x80\"",
	"\"overlong \xc0\xaf and surrogate \xed\xa0\x80\"",
	"\"\xef\xbf\xbd is U+FFFD\"",
	`"escaped \/ slash and / slash"`,
	`"\"\\\/\b\f\n\r\t"`,
	`"\u0000\u0001\u001f\u007f\u0080"`,
	`"\u00E9\u00e9é"`,
	`"pair \ud83d\ude00 😀"`,
	`"lone \ud800 high"`,
	`"lone \udc00 low"`,
	`"high then high \ud800\ud800"`,
	`"high at end \ud83d"`,
	`"reversed \ude00\ud83d"`,
	`"high then escape \ud800\n"`,
	`"\ufffd\uFFFE\uffff"`,
	`"tab	in string is invalid"`,
	`["a","\u003c",{"k":"\u2028"}]`,
	// Numbers, written as they are.
	`0`,
	`-0`,
	`-0.0`,
	`1E+2`,
	`1e-2`,
	`1.50`,
	`12345678901234567890123456789012345678901234567890`,
	`-1.7976931348623157e309`,
	`4.9e-325`,
	`[1,-1,0.5,1e400,-0e-0]`,
	`{"n":1.0,"m":1}`,
	`01`,
	`1.`,
	`.5`,
	`+1`,
	`1e`,
	// Literals and top-level scalars.
	`true`,
	`false`,
	`null`,
	`[true,false,null]`,
	`{"t":true,"f":false,"n":null}`,
	// White space everywhere.
	" \t\r\n{ \"b\" : [ 1 , 2 ,\n3 ] ,\t\"a\" :{ } , \"c\":\"x\" } \n",
	" 1 ",
	"\n\"s\"\t",
	" [ ] ",
	" { } ",
	// Invalid documents, and valid ones followed by garbage, which the
	// decoder may accept.
	``,
	` `,
	`{`,
	`}`,
	`[1,]`,
	`{"a":1,}`,
	`{"a"}`,
	`{a:1}`,
	`'a'`,
	`nul`,
	`tru`,
	`"unterminated`,
	`"bad escape \x"`,
	`"bad unicode \u12"`,
	`{"a":1}x`,
	`{"a":1} {"b":2}`,
	`[1] ]`,
	`1 2`,
	`1x`,
	`"s"garbage`,
	`true false`,
	`nullx`,
	`{"a":1}}`,
	"\xef\xbb\xbf{}",
	"{\"a\":1}\x00",
}

// deep nests n arrays or objects in one another.
func deep(n int, object bool) string {
	if object {
		return strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n)
	}
	return strings.Repeat(`[`, n) + strings.Repeat(`]`, n)
}

func sameAsSlow(t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := canonicalJSONSlow(in)
	got, err := canonicalJSON(in)
	if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
		t.Errorf("canonicalJSON(%q) = %q, %v\nwant %q, %v", in, got, err, want, wantErr)
	}
}

func TestCanonicalJSONAgreesWithRoundTrip(t *testing.T) {
	inputs := append([]string{}, canonicalInputs...)
	// Past the scanner's 10000 levels json.Valid refuses a document; the
	// encoder starts to look for cycles after 1000.
	for _, n := range []int{999, 1001, 5000, 10000, 10001} {
		inputs = append(inputs, deep(n, false), deep(n, true))
	}
	for _, in := range inputs {
		sameAsSlow(t, []byte(in))
	}
	for _, v := range []any{benchmarkValue(), map[string]any{"html": "<&>", "sep": "\u2028", "bytes": []byte{0, 0xff}}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		sameAsSlow(t, b)
	}
}

// A few outputs spelled out, so that the table does not only check that
// the two agree.
func TestCanonicalJSONOutput(t *testing.T) {
	for in, want := range map[string]string{
		` { "b" : [ 1 , "\u003c" ] , "a" : { "d" : 1.50, "c" : -0 } , "b" : 2 } `: `{"a":{"c":-0,"d":1.50},"b":2}`,
		`"\u2028 \ud800 \/ \u00e9"`: `"\u2028 ` + "\ufffd" + ` / ` + "é" + `"`,
		"\"\xff\"":                  "\"\ufffd\"",
		`1E+2`:                      `1E+2`,
	} {
		got, err := canonicalJSON([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("canonicalJSON(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, in := range canonicalInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sameAsSlow(t, in)
	})
}

// benchmarkLine and benchmarkItem are the kind of struct whose JSON an
// entry's field values are: strings, decimal strings, a nested struct and
// a nested slice.
type benchmarkLine struct {
	SKU      string `json:"sku"`
	Quantity string `json:"quantity"`
	Price    string `json:"unit_price"`
}

type benchmarkItem struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Status      string `json:"status"`
	Currency    string `json:"currency"`
	Subtotal    string `json:"subtotal"`
	Tax         string `json:"tax"`
	Total       string `json:"total"`
	Description string `json:"description"`
	Customer    struct {
		Name    string `json:"name"`
		Country string `json:"country"`
	} `json:"customer"`
	Lines    []benchmarkLine `json:"lines"`
	Paid     bool            `json:"paid"`
	Attempts int             `json:"attempts"`
}

func benchmarkValue() []benchmarkItem {
	items := make([]benchmarkItem, 5)
	for i := range items {
		it := &items[i]
		it.ID = "inv_01J9ZQ4F8X2K" + string(rune('A'+i))
		it.Object = "invoice"
		it.Status = "open"
		it.Currency = "EUR"
		it.Subtotal, it.Tax, it.Total = "1250.00", "250.00", "1500.00"
		it.Description = "Consulting, March"
		if i == 2 {
			it.Description = "Support <premium> & hosting" // escaped by json.Marshal
		}
		it.Customer.Name, it.Customer.Country = "Société Générale", "FR"
		it.Lines = []benchmarkLine{{"CONS-1", "10", "100.00"}, {"HOST-2", "1", "250.00"}}
		it.Attempts = i
	}
	return items
}

func BenchmarkCanonicalJSON(b *testing.B) {
	raw, err := json.Marshal(benchmarkValue())
	if err != nil {
		b.Fatal(err)
	}
	for _, impl := range []struct {
		name string
		f    func([]byte) (json.RawMessage, error)
	}{{"fast", canonicalJSON}, {"slow", canonicalJSONSlow}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := impl.f(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
