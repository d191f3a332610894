package audit

import (
	"encoding/json"
	"maps"
	"testing"
)

// splitObject must give what json.Unmarshal into a map of raw members
// gives, for every JSON object (the fuzz target checks any valid input;
// these are the shapes json.Marshal writes, and a few it does not).
func TestSplitObjectAgreesWithUnmarshal(t *testing.T) {
	docs := []string{
		`{}`,
		`{"a":1}`,
		`{"a":"x,y}z","b":[1,{"c":"]"}],"d":{"e":{"f":null}},"g":true}`,
		`{"q\"uote":"a\\\"b","back\\slash":"\\","uni\u00e9":"\u2028"}`,
		`{"empty":"","arr":[],"obj":{},"neg":-1.5e-3}`,
		`{"dup":1,"dup":2}`,
		` {"spaced" : [ 1 , 2 ] } `,
		`{"lines":[{"description":"Item, with {braces} and [brackets]","quantity":"1"}],"notes":"SELECT 1;"}`,
	}
	for _, d := range docs {
		check(t, []byte(d))
	}
	// A document as the audit log splits it: a marshaled struct.
	b, err := json.Marshal(struct {
		ID    string            `json:"id"`
		Lines []map[string]any  `json:"lines"`
		Meta  map[string]string `json:"meta"`
	}{"inv_1", []map[string]any{{"a": "}", "b": []int{1, 2}}}, map[string]string{"k\"": "v\n"}})
	if err != nil {
		t.Fatal(err)
	}
	check(t, b)
}

func check(t *testing.T, b []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	wantErr := json.Unmarshal(b, &want)
	got, err := splitObject(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s: err %v, json.Unmarshal's %v", b, err, wantErr)
	}
	if !maps.EqualFunc(got, want, func(x, y json.RawMessage) bool { return string(x) == string(y) }) {
		t.Errorf("%s:\n got  %q\n want %q", b, got, want)
	}
}

func FuzzSplitObject(f *testing.F) {
	f.Add([]byte(`{"a":"x,y}z","b":[1,{"c":"]"}]}`))
	f.Add([]byte(`{"q\"uote":"a\\\"b"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v map[string]json.RawMessage
		if json.Unmarshal(b, &v) != nil {
			return // only valid objects are split
		}
		check(t, b)
	})
}
