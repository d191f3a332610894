package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"bursar/internal/errs"
	"bursar/internal/invoice"
)

func TestDecodeNamesEveryRefusedField(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body   string
		code   string
		fields []string
	}{
		{`{"customer_id": "cus_1", "lines": [{"quantity": "1"}]}`, "", nil},
		{`{"lines": [{"quantity": "1"}, {"quantity": 2, "colour": "red"}], "x": {}}`, "validation_failed", []string{"lines[1].quantity", "lines[1].colour", "x"}},
		{`{"lines": [{"tax_rate_ids": ["a", 1, null]}]}`, "validation_failed", []string{"lines[0].tax_rate_ids[1]", "lines[0].tax_rate_ids[2]"}},
		{`{"lines": {"quantity": "1"}}`, "validation_failed", []string{"lines"}},
		{`{"prices_include_tax": "true"}`, "validation_failed", []string{"prices_include_tax"}},
		{`{"payment_terms_days": 1.5}`, "validation_failed", []string{"payment_terms_days"}},
		{`{"payment_terms_days": 1e2}`, "validation_failed", []string{"payment_terms_days"}},
		{`{"payment_terms_days": 99999999999999999999}`, "validation_failed", []string{"payment_terms_days"}},
		{`{"payment_terms_days": null, "notes": "a"}`, "", nil},
		{`{"notes": "a", "notes": "b"}`, "validation_failed", []string{"notes"}},
		{`{"Notes": "a"}`, "validation_failed", []string{"Notes"}},
		{`{"notes": "a\u0000"}`, "validation_failed", []string{"notes"}},
		{`{"customer_id": null}`, "validation_failed", []string{"customer_id"}},
		{`{"lines": [{"quantity": "1"}]`, "malformed_json", nil},
		{`{"lines": [{"quantity": "1",}]}`, "malformed_json", nil},
		{`{} []`, "malformed_json", nil},
		{`"text"`, "malformed_json", nil},
		{`null`, "malformed_json", nil},
		{"  \n", "malformed_json", nil},
		{`{"x": [[[{"y": 1}]]], "notes": "ok"}`, "validation_failed", []string{"x"}},
	} {
		var in invoice.Input
		err := decodeJSON([]byte(c.body), &in)
		if got := errs.CodeOf(err); got != c.code {
			t.Errorf("%s: code %q (%v), want %q", c.body, got, err, c.code)
			continue
		}
		var e *errs.Error
		var got []string
		if errors.As(err, &e) {
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
		}
		if !slices.Equal(got, c.fields) {
			t.Errorf("%s: fields %q, want %q", c.body, got, c.fields)
		}
	}
}

// Decoding over a value keeps what the body does not give, merges objects,
// and replaces arrays wholly: a line given in a PATCH keeps nothing of the
// line it replaces.
func TestDecodeOverAValue(t *testing.T) {
	t.Parallel()
	terms := 10
	in := invoice.Input{CustomerID: "cus_1", Notes: "keep", PaymentTermsDays: &terms, Lines: []invoice.LineInput{
		{Description: "a", Quantity: "1", UnitPrice: "1.00", DiscountPercent: "5", TaxRateIDs: []string{"txr_1"}},
		{Description: "b", Quantity: "2", UnitPrice: "2.00"},
	}}
	if err := decodeJSON([]byte(`{"lines": [{"quantity": "3"}], "payment_terms_days": null}`), &in); err != nil {
		t.Fatal(err)
	}
	want := invoice.Input{CustomerID: "cus_1", Notes: "keep", Lines: []invoice.LineInput{{Quantity: "3"}}}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("got %+v\nwant %+v", in, want)
	}
}

// What decodeJSON accepts, encoding/json reads the same way; and nothing
// makes it panic.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"customer_id": "cus_1", "lines": [{"description": "x", "quantity": "1", "unit_price": "1.00", "tax_rate_ids": ["t"]}]}`,
		`{"payment_terms_days": 30, "prices_include_tax": true, "allowances": [{"amount": "1", "reason": "r"}]}`,
		`{"lines": [], "charges": null}`, `{"a": {"b": [1, {"c": null}]}}`, `{"notes": "\ud83d\ude00"}`, `[`, `{"notes": "x"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got invoice.Input
		if err := decodeJSON(body, &got); err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("%q: error of kind %v: %v", body, errs.KindOf(err), err)
			}
			return
		}
		var want invoice.Input
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("%q: accepted, but encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded %+v, encoding/json %+v", body, got, want)
		}
	})
}
