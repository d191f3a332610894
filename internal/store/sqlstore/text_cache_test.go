package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"

	"bursar/internal/invoice"
	"bursar/internal/money"
)

// A cached document's content must come back equal to a fresh decoding
// every time, even after a caller changed the copy it was given.
func TestTextCacheReturnsIndependentCopies(t *testing.T) {
	tax := invoice.Tax{TaxRateID: "txr_1", Name: "VAT", Category: "S", Percentage: money.MustParse("19")}
	orig := content{
		Lines: []invoice.Line{{Description: "A", Quantity: money.MustParse("2"), UnitPrice: money.MustParse("1.50"),
			Taxes: []invoice.Tax{tax}, Net: money.MustParse("3.00")}},
		Allowances: []invoice.AllowanceCharge{{Amount: money.MustParse("1.00"), Reason: "loyal", Tax: &tax}},
		Charges:    []invoice.AllowanceCharge{},
		Taxes:      []invoice.TaxSubtotal{{Category: "S", Percentage: money.MustParse("19")}},
	}
	raw, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	cc := newDocumentCaches().content
	for i := range 3 {
		var got content
		if err := cc.decode(string(raw), &got); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(got)
		if string(again) != string(raw) {
			t.Fatalf("decode %d = %s, want %s", i, again, raw)
		}
		// Change everything a caller could reach; the next decode must
		// not see it.
		got.Lines[0].Description = "changed"
		got.Lines[0].Taxes[0].Name = "changed"
		got.Allowances[0].Tax.Name = "changed"
		got.Taxes[0].Category = "Z"
		got.Charges = append(got.Charges, invoice.AllowanceCharge{Reason: "added"})
	}
	var fresh content
	if err := json.Unmarshal(raw, &fresh); err != nil {
		t.Fatal(err)
	}
	var cached content
	if err := cc.decode(string(raw), &cached); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cached, fresh) {
		t.Errorf("cached content = %+v, want %+v", cached, fresh)
	}
}

// The cache stays bounded however many documents pass through it.
func TestTextCacheIsBounded(t *testing.T) {
	cc := newDocumentCaches().content
	for i := range textCacheSize + 100 {
		raw, _ := json.Marshal(content{Lines: []invoice.Line{{Description: "line", Quantity: money.NewFromInt(int64(i))}}})
		var c content
		if err := cc.decode(string(raw), &c); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(cc.m); n > textCacheSize {
		t.Errorf("cache holds %d entries, want at most %d", n, textCacheSize)
	}
}
