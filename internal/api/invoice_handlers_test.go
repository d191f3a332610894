package api_test

import (
	"fmt"
	"sync"
	"testing"
)

func TestFinalizedInvoiceNeverChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	f := a.seed(t)
	before := a.must(200, "GET", "/v1/invoices/"+f.open, nil)
	for _, c := range []struct {
		method string
		body   any
	}{
		{"PATCH", map[string]any{"notes": "changed"}},
		{"PATCH", map[string]any{"lines": []any{}}},
		{"DELETE", nil},
	} {
		r := a.do(c.method, "/v1/invoices/"+f.open, c.body)
		if p := r.problem(t); r.status != 409 || p.Code != "invoice_finalized" {
			t.Errorf("%v, want 409 invoice_finalized", r)
		}
	}
	after := a.must(200, "GET", "/v1/invoices/"+f.open, nil)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("the finalized invoice changed:\n%v\n%v", before, after)
	}
}

// A PATCH changes the fields it gives: the others keep their value, an
// object merges, and lines, when given, replace all lines.
func TestPatchKeepsWhatItDoesNotGive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	f := a.seed(t)

	two := map[string]any{"customer_id": f.customer, "notes": "first", "payment_terms_days": 10, "lines": []any{
		map[string]any{"description": "A", "quantity": "1", "unit_price": "10.00", "tax_rate_ids": []string{f.taxRate}},
		map[string]any{"description": "B", "quantity": "2", "unit_price": "5.00", "discount_amount": "1.00", "tax_rate_ids": []string{f.taxRate}}}}
	id := a.must(201, "POST", "/v1/invoices", two)["id"].(string)

	got := a.must(200, "PATCH", "/v1/invoices/"+id, map[string]any{"purchase_order": "PO-1"})
	if got["notes"] != "first" || got["purchase_order"] != "PO-1" || len(got["lines"].([]any)) != 2 || got["payment_terms_days"] != 10.0 {
		t.Errorf("after a PATCH of purchase_order: %v", got)
	}
	if l := got["lines"].([]any)[1].(map[string]any); l["discount_amount"] != "1.00" || l["taxes"].([]any)[0].(map[string]any)["tax_rate_id"] != f.taxRate {
		t.Errorf("line 2 lost its discount or tax: %v", l)
	}
	got = a.must(200, "PATCH", "/v1/invoices/"+id, map[string]any{"lines": []any{map[string]any{"description": "C", "quantity": "3", "unit_price": "1.00"}}, "payment_terms_days": nil})
	lines := got["lines"].([]any)
	if len(lines) != 1 || lines[0].(map[string]any)["description"] != "C" || got["notes"] != "first" || got["payment_terms_days"] != nil {
		t.Errorf("after a PATCH of lines: %v", got)
	}
	if tot := got["totals"].(map[string]any); tot["tax_inclusive"] != "3.00" {
		t.Errorf("totals after the PATCH = %v, want 3.00", tot)
	}

	cus := a.must(200, "PATCH", "/v1/customers/"+f.customer, map[string]any{"address": map[string]any{"city": "Lyon"}})
	if addr := cus["address"].(map[string]any); addr["city"] != "Lyon" || addr["line1"] != "1 Rue de la Paix" || addr["country"] != "FR" {
		t.Errorf("address after a PATCH of its city = %v", addr)
	}
	if cus["name"] != "Customer of Acme" {
		t.Errorf("name after a PATCH of the address = %v", cus["name"])
	}
}

func TestInvoiceLifecycleAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	f := a.seed(t)

	late := a.must(201, "POST", "/v1/invoices", map[string]any{"customer_id": f.customer, "issue_date": "2026-01-01", "due_date": "2026-01-15",
		"lines": []any{map[string]any{"description": "x", "quantity": "1", "unit_price": "100.00"}}})
	if late["overdue"] != false || late["status"] != "draft" || late["number"] != "" {
		t.Errorf("new draft = %v", late)
	}
	id := late["id"].(string)
	if got := a.must(200, "POST", "/v1/invoices/"+id+"/finalize", nil); got["overdue"] != true {
		t.Errorf("an open invoice due 2026-01-15 is not overdue: %v", got)
	}
	list := a.must(200, "GET", "/v1/invoices?status=open&issue_date_to=2026-01-31", nil)["data"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != id || list[0].(map[string]any)["overdue"] != true {
		t.Errorf("open invoices issued in January = %v", list)
	}

	// An overpayment pays the invoice and becomes customer credit.
	paid := a.must(201, "POST", "/v1/invoices/"+id+"/payments", map[string]any{"amount": "150.00"})
	if inv := paid["invoice"].(map[string]any); inv["status"] != "paid" || inv["overdue"] != false {
		t.Errorf("invoice after an overpayment = %v", inv)
	}
	if p := paid["payment"].(map[string]any); p["applied_to_invoice"] != "100.00" || p["credited_to_customer"] != "50.00" {
		t.Errorf("payment = %v", p)
	}
	if cus := a.must(200, "GET", "/v1/customers/"+f.customer, nil); cus["credit_balance"] != "50.00" {
		t.Errorf("credit_balance = %v, want 50.00", cus["credit_balance"])
	}
	if r := a.do("POST", "/v1/invoices/"+id+"/void", nil); r.status != 409 {
		t.Errorf("%v, want 409 for voiding a paid invoice", r)
	}
	if r := a.do("POST", "/v1/invoices/"+f.draft+"/void", nil); r.status != 409 || r.problem(t).Code != "invoice_draft" {
		t.Errorf("%v, want 409 invoice_draft", r)
	}
	a.must(204, "DELETE", "/v1/invoices/"+f.draft, nil)
	if r := a.do("GET", "/v1/invoices/"+f.draft, nil); r.status != 404 {
		t.Errorf("%v, want 404 after the delete", r)
	}
}

// Pages follow each other without a gap or an overlap, also at the
// largest page size, where the store cannot fetch one more than the page.
func TestListPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	const n = 101
	for i := range n {
		a.must(201, "POST", "/v1/tax-rates", map[string]any{"name": fmt.Sprint("Rate ", i), "percentage": "7", "category": "S"})
	}
	for _, limit := range []int{1, 7, 50, 100} {
		seen := map[string]bool{}
		after, pages := "", 0
		for {
			path := fmt.Sprintf("/v1/tax-rates?limit=%d", limit)
			if after != "" {
				path += "&starting_after=" + after
			}
			page := a.must(200, "GET", path, nil)
			data := page["data"].([]any)
			pages++
			if len(data) > limit {
				t.Fatalf("limit %d: a page of %d", limit, len(data))
			}
			for _, x := range data {
				id := x.(map[string]any)["id"].(string)
				if seen[id] {
					t.Fatalf("limit %d: %s on two pages", limit, id)
				}
				seen[id] = true
				after = id
			}
			if page["has_more"] != true {
				break
			}
			if len(data) != limit {
				t.Fatalf("limit %d: has_more on a short page of %d", limit, len(data))
			}
		}
		if len(seen) != n || pages != (n+limit-1)/limit {
			t.Errorf("limit %d: %d objects in %d pages, want %d in %d", limit, len(seen), pages, n, (n+limit-1)/limit)
		}
	}
	if got := a.must(200, "GET", "/v1/tax-rates", nil)["data"].([]any); len(got) != 20 {
		t.Errorf("default page of %d, want 20", len(got))
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/v1/nothing", 404, "not_found", ""},
		{"GET", "/v1/customers/", 404, "not_found", ""},
		{"GET", "/v1//customers", 404, "not_found", ""},
		{"GET", "/v1/invoices/x/y/z", 404, "not_found", ""},
		{"PUT", "/v1/customers/cus_1", 405, "method_not_allowed", "DELETE, GET, PATCH"},
		{"DELETE", "/v1/customers", 405, "method_not_allowed", "GET, POST"},
		{"GET", "/v1/invoices/inv_1/finalize", 405, "method_not_allowed", "POST"},
	} {
		r := a.do(c.method, c.path, nil, invalid)
		if p := r.problem(t); r.status != c.status || p.Code != c.code || r.header.Get("Allow") != c.allow {
			t.Errorf("%v (Allow %q), want %d %s (Allow %q)", r, r.header.Get("Allow"), c.status, c.code, c.allow)
		}
	}
	// An id that cannot be one is not found without a lookup.
	if r := a.do("GET", "/v1/invoices/cus_01J0000000000000000000000Z", nil); r.status != 404 {
		t.Errorf("%v, want 404", r)
	}
}

// Two PATCHes of different fields at once both count: the read of the
// draft and its write are one transaction.
func TestConcurrentPatchesOfADraftBothCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	f := a.seed(t)
	for i := range 5 {
		id := a.must(201, "POST", "/v1/invoices", a.invoiceBody(f, "1"))["id"].(string)
		var wg sync.WaitGroup
		for _, body := range []map[string]any{{"notes": fmt.Sprint("n", i)}, {"purchase_order": fmt.Sprint("po", i)}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := a.do("PATCH", "/v1/invoices/"+id, body); r.status != 200 {
					t.Errorf("%v", r)
				}
			}()
		}
		wg.Wait()
		if got := a.must(200, "GET", "/v1/invoices/"+id, nil); got["notes"] != fmt.Sprint("n", i) || got["purchase_order"] != fmt.Sprint("po", i) {
			t.Errorf("after two PATCHes: notes %v, purchase_order %v", got["notes"], got["purchase_order"])
		}
	}
}
