package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"bursar/internal/audit"
)

// Erasure removes the customer's personal data from the record and its
// drafts, keeps the buyer of issued invoices, refuses new invoices and
// changes, records itself without personal values, and is idempotent; the
// export shows all of it.
func TestEraseCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	personal := []string{"Erika Mustermann", "erika@example.com", "cc-erika@example.com", "Heidestr. 17", "51147", "DE999999999", "likes invoices on paper"}
	cus := a.must(201, "POST", "/v1/customers", map[string]any{"name": personal[0], "email": personal[1], "cc_emails": []string{personal[2]},
		"address": map[string]any{"line1": personal[3], "city": "Köln", "postal_code": personal[4], "country": "DE"},
		"tax_id":  personal[5], "notes": personal[6]})["id"].(string)
	line := []any{map[string]any{"description": "Consulting", "quantity": "1", "unit_price": "100.00"}}
	issued := a.must(201, "POST", "/v1/invoices", map[string]any{"customer_id": cus, "lines": line})["id"].(string)
	a.must(200, "POST", "/v1/invoices/"+issued+"/finalize", nil)
	draft := a.must(201, "POST", "/v1/invoices", map[string]any{"customer_id": cus, "lines": line})["id"].(string)

	x := a.must(200, "GET", "/v1/customers/"+cus+"/export", nil)
	if x["schema"] != "bursar.customer-export" || len(x["invoices"].([]any)) != 2 || x["customer"].(map[string]any)["email"] != personal[1] {
		t.Fatalf("export before erasure: %v", x)
	}
	if n := len(x["audit_events"].([]any)); n != 4 { // customer created; invoice created, finalized; draft created
		t.Errorf("export holds %d audit events, want 4", n)
	}

	er := a.must(200, "POST", "/v1/customers/"+cus+"/erase", nil)
	if er["already_erased"] != false || len(er["drafts_deleted"].([]any)) != 1 || er["drafts_deleted"].([]any)[0] != draft {
		t.Errorf("erase = %v, want the draft deleted", er)
	}
	again := a.must(200, "POST", "/v1/customers/"+cus+"/erase", nil)
	if again["already_erased"] != true || again["erased_at"] != er["erased_at"] {
		t.Errorf("second erase = %v, want already_erased and the first time", again)
	}

	got := a.do("GET", "/v1/customers/"+cus, nil)
	for _, p := range personal {
		if strings.Contains(string(got.body), p) {
			t.Errorf("the erased customer still shows %q: %s", p, got.body)
		}
	}
	if r := a.do("GET", "/v1/invoices/"+draft, nil); r.status != 404 {
		t.Errorf("the erased customer's draft: %v, want 404", r)
	}
	if inv := a.must(200, "GET", "/v1/invoices/"+issued, nil); inv["buyer"].(map[string]any)["name"] != personal[0] {
		t.Errorf("the issued invoice lost its buyer: %v", inv["buyer"])
	}
	for _, c := range []struct{ method, path string }{{"POST", "/v1/invoices"}, {"PATCH", "/v1/customers/" + cus}} {
		body := map[string]any{"customer_id": cus, "lines": line}
		if c.method == "PATCH" {
			body = map[string]any{"email": "new@example.com"}
		}
		if p := a.do(c.method, c.path, body).problem(t); p.Status != 409 || p.Code != "customer_erased" {
			t.Errorf("%s %s of an erased customer: %d %s, want 409 customer_erased", c.method, c.path, p.Status, p.Code)
		}
	}

	// One entry records the erasure, and no entry of the tree holds a
	// personal value in clear.
	var erasures int
	err := e.st.ScanAuditLeaves(context.Background(), a.org.ID, func(_ int64, leaf []byte) error {
		for _, p := range personal {
			if strings.Contains(string(leaf), p) {
				t.Errorf("audit leaf holds %q: %s", p, leaf)
			}
		}
		var en audit.Entry
		if err := json.Unmarshal(leaf, &en); err != nil {
			return err
		}
		if en.Action == "customer.erased" && en.ObjectID == cus {
			erasures++
		}
		return nil
	})
	if err != nil || erasures != 1 {
		t.Errorf("audit log: %v, %d customer.erased entries, want 1", err, erasures)
	}

	x = a.must(200, "GET", "/v1/customers/"+cus+"/export", nil)
	if x["customer"].(map[string]any)["erased_at"] == nil || len(x["invoices"].([]any)) != 1 {
		t.Errorf("export after erasure: customer %v, %d invoices; want erased_at and the issued invoice", x["customer"], len(x["invoices"].([]any)))
	}
}

func TestRetentionSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	r := a.must(200, "GET", "/v1/organization/retention", nil)
	for _, p := range r["data"].([]any) {
		if p := p.(map[string]any); p["years"] != float64(10) || p["default"] != true {
			t.Errorf("default policy %v, want 10 years, default", p)
		}
	}
	r = a.must(200, "PATCH", "/v1/organization/retention", map[string]any{"credit_notes": 7})
	want := map[string]float64{"invoices": 10, "credit_notes": 7, "payments": 10}
	for _, p := range r["data"].([]any) {
		p := p.(map[string]any)
		if p["years"] != want[p["class"].(string)] || (p["class"] == "credit_notes") == p["default"] {
			t.Errorf("after PATCH: %v", p)
		}
	}
	for _, body := range []map[string]any{{"invoices": 0}, {"payments": 101}, {}} {
		if p := a.do("PATCH", "/v1/organization/retention", body, invalid).problem(t); p.Status != 422 {
			t.Errorf("PATCH %v: %d %s, want 422", body, p.Status, p.Code)
		}
	}
	b := e.tenant("Beta")
	for _, p := range b.must(200, "GET", "/v1/organization/retention", nil)["data"].([]any) {
		if p.(map[string]any)["default"] != true {
			t.Errorf("another organization sees %v", p)
		}
	}
}
