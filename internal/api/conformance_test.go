package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"bursar/internal/api"
	"bursar/internal/auth"
)

// Every route of the table is in the OpenAPI document and every operation
// of the document is a route; every route declares its permission; and the
// mux serves exactly the table.
func TestRouteTableMatchesDocumentAndMux(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	table := map[string]api.RouteInfo{}
	for _, rt := range api.Routes(e.h) {
		key := rt.Method + " " + rt.Pattern
		if _, dup := table[key]; dup {
			t.Errorf("route %s is in the table twice", key)
		}
		table[key] = rt
		switch {
		case rt.Public:
			if rt.Method != http.MethodGet {
				t.Errorf("route %s is public but not a GET", key)
			}
		case rt.Resource == "(sign-in)":
			if rt.Method != http.MethodPost {
				t.Errorf("sign-in route %s is not a POST", key)
			}
		case rt.Resource == "(self)" || rt.Resource == "(challenge)":
			if !strings.HasPrefix(rt.Pattern, "/v1/auth/") {
				t.Errorf("route %s of one's own sessions is not under /v1/auth/", key)
			}
		case !slices.Contains(auth.Resources, rt.Resource):
			t.Errorf("route %s declares no permission: resource %q", key, rt.Resource)
		case !auth.RoleAllows(auth.RoleOwner, rt.Resource, rt.Write):
			t.Errorf("route %s: the role matrix gives no role %s access to %q", key, map[bool]string{false: "read", true: "write"}[rt.Write], rt.Resource)
		case rt.Write != (rt.Method != http.MethodGet):
			t.Errorf("route %s: write = %v", key, rt.Write)
		}
		if !strings.HasPrefix(rt.Pattern, "/v1/") {
			t.Errorf("route %s is not under /v1", key)
		}
	}

	doc := e.spec.doc
	inDoc := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			inDoc[key] = true
			rt, ok := table[key]
			if !ok {
				t.Errorf("the document has %s, which no route serves", key)
				continue
			}
			public := op.Security != nil && len(*op.Security) == 0
			if public != (rt.Public || rt.Resource == "(sign-in)") {
				t.Errorf("%s: public in the document = %v, in the table = %v", key, public, rt.Public)
			}
			// The mux serves the operation with the table's route.
			req := httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "x_1"), nil)
			if got := api.MuxPattern(e.h, req); got != key {
				t.Errorf("the mux serves %s %s with %q, want %q", method, req.URL.Path, got, key)
			}
		}
	}
	for key := range table {
		if !inDoc[key] {
			t.Errorf("route %s is not in the OpenAPI document", key)
		}
	}
	// The mux serves nothing but the table: every method on every path
	// of the table either finds a route of the table or nothing.
	for _, rt := range table {
		path := strings.ReplaceAll(rt.Pattern, "{id}", "x_1")
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			got := api.MuxPattern(e.h, httptest.NewRequest(m, path, nil))
			if _, ok := table[got]; got != "" && !ok {
				t.Errorf("the mux serves %s %s with %q, which is not in the table", m, path, got)
			}
		}
	}
}

func TestOpenAPIDocumentIsServedWithoutKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := client{e: e}.do("GET", "/v1/openapi.json", nil)
	if r.status != 200 || !bytes.Equal(r.body, api.OpenAPIDocument) {
		t.Fatalf("GET /v1/openapi.json = %d, want 200 and the embedded document", r.status)
	}
	if got := e.spec.doc.Components.SecuritySchemes["bearer"]; got == nil || got.Value.Scheme != "bearer" {
		t.Errorf("components.securitySchemes.bearer = %v, want an http bearer scheme", got)
	}
}

// A scenario through every route, every request and response checked
// against the OpenAPI document; at the end every operation of the document
// must have been called.
func TestOpenAPIConformanceScenario(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withGuard, withTokens, withSSO)
	a := e.tenant("Acme")
	nobody := client{e: e}

	nobody.must(200, "GET", "/v1/openapi.json", nil)
	a.must(200, "GET", "/v1/organization", nil)
	a.must(200, "PATCH", "/v1/organization", map[string]any{"locale": "de-DE", "address": map[string]any{"city": "Hamburg"}})

	// Catalog and customers: create, read, update, list, delete.
	cus := a.must(201, "POST", "/v1/customers", map[string]any{"name": "Globex SARL", "email": "billing@globex.example",
		"currency": "EUR", "address": map[string]any{"line1": "1 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"},
		"tax_id": "FR40303265045", "payment_terms_days": 14})["id"].(string)
	spare := a.must(201, "POST", "/v1/customers", map[string]any{"name": "Initech"})["id"].(string)
	a.must(200, "GET", "/v1/customers/"+cus, nil)
	a.must(200, "PATCH", "/v1/customers/"+cus, map[string]any{"notes": "key account"})
	a.must(200, "GET", "/v1/customers?email=billing%40globex.example&limit=5", nil)
	a.must(204, "DELETE", "/v1/customers/"+spare, nil)

	vat := a.must(201, "POST", "/v1/tax-rates", map[string]any{"name": "VAT 19%", "percentage": "19", "category": "S", "country": "DE"})["id"].(string)
	rc := a.must(201, "POST", "/v1/tax-rates", map[string]any{"name": "Reverse charge", "percentage": "0", "category": "AE",
		"exemption_reason_code": "VATEX-EU-AE"})["id"].(string)
	a.must(200, "GET", "/v1/tax-rates/"+vat, nil)
	a.must(200, "PATCH", "/v1/tax-rates/"+rc, map[string]any{"active": false})
	a.must(200, "GET", "/v1/tax-rates", nil)
	a.must(204, "DELETE", "/v1/tax-rates/"+rc, nil)

	prod := a.must(201, "POST", "/v1/products", map[string]any{"name": "Consulting", "unit": "HUR", "unit_price": "125.00", "tax_rate_ids": []string{vat}})["id"].(string)
	old := a.must(201, "POST", "/v1/products", map[string]any{"name": "Legacy", "unit_price": "1.00"})["id"].(string)
	a.must(200, "GET", "/v1/products/"+prod, nil)
	a.must(200, "PATCH", "/v1/products/"+old, map[string]any{"active": false, "description": "retired"})
	a.must(200, "GET", "/v1/products?limit=1", nil)
	a.must(204, "DELETE", "/v1/products/"+old, nil)

	// Invoices through their lifecycle.
	line := map[string]any{"product_id": prod, "quantity": "8"}
	body := map[string]any{"customer_id": cus, "lines": []any{line}, "allowances": []any{map[string]any{"percent": "10", "reason": "loyalty"}}}
	scrap := a.must(201, "POST", "/v1/invoices", body)["id"].(string)
	a.must(200, "PATCH", "/v1/invoices/"+scrap, map[string]any{"notes": "draft"})
	a.must(204, "DELETE", "/v1/invoices/"+scrap, nil)

	inv := a.must(201, "POST", "/v1/invoices", map[string]any{"customer_id": cus, "currency": "EUR", "issue_date": "2026-01-05",
		"due_date": "2026-01-19", "lines": []any{map[string]any{"description": "Consulting", "quantity": "8", "unit": "HUR",
			"unit_price": "125.00", "discount_percent": "5", "tax_rate_ids": []string{vat}}},
		"charges": []any{map[string]any{"amount": "20.00", "reason": "travel"}}})["id"].(string)
	a.must(200, "GET", "/v1/invoices/"+inv, nil)
	a.must(200, "PATCH", "/v1/invoices/"+inv, map[string]any{"purchase_order": "PO-7"})
	fin := a.must(200, "POST", "/v1/invoices/"+inv+"/finalize", nil, header("Idempotency-Key", "fin-1"))
	if fin["status"] != "open" || fin["overdue"] != true {
		t.Errorf("finalized invoice: status %v overdue %v, want open and overdue (due 2026-01-19)", fin["status"], fin["overdue"])
	}
	if p := a.do("PATCH", "/v1/invoices/"+inv, map[string]any{"notes": "late edit"}).problem(t); p.Code != "invoice_finalized" {
		t.Errorf("PATCH of a finalized invoice: code %q, want invoice_finalized", p.Code)
	}
	a.must(201, "POST", "/v1/invoices/"+inv+"/payments", map[string]any{"amount": "100.00", "date": "2026-01-10", "method": "card", "reference": "ch_1"})
	a.must(200, "GET", "/v1/invoices/"+inv+"/payments", nil)
	cn := a.must(201, "POST", "/v1/credit-notes", map[string]any{"invoice_id": inv, "reason": "hours billed twice",
		"lines": []any{map[string]any{"description": "Consulting", "quantity": "1", "unit_price": "118.75", "tax_rate_ids": []string{vat}}}})["id"].(string)
	a.must(200, "GET", "/v1/credit-notes/"+cn, nil)
	a.must(200, "GET", "/v1/credit-notes?invoice_id="+inv, nil)
	a.must(200, "POST", "/v1/invoices/"+inv+"/mark-uncollectible", nil)

	other := a.must(201, "POST", "/v1/invoices", map[string]any{"customer_id": cus, "prices_include_tax": true,
		"lines": []any{map[string]any{"description": "Licence", "quantity": "1", "unit_price": "119.00", "tax_rate_ids": []string{vat}}}})["id"].(string)
	a.must(200, "POST", "/v1/invoices/"+other+"/finalize", map[string]any{})
	a.must(200, "POST", "/v1/invoices/"+other+"/void", nil)
	a.must(200, "GET", "/v1/invoices?status=void&customer_id="+cus+"&issue_date_from=2026-01-01&issue_date_to=2030-12-31&limit=10", nil)

	pays := a.must(200, "GET", "/v1/payments?invoice_id="+inv+"&date_from=2026-01-01&date_to=2026-12-31", nil)
	pay := pays["data"].([]any)[0].(map[string]any)["id"].(string)
	a.must(200, "GET", "/v1/payments/"+pay, nil)

	// Data protection: a customer's export and erasure, the retention
	// periods.
	a.must(200, "GET", "/v1/customers/"+cus+"/export", nil)
	gone := a.must(201, "POST", "/v1/customers", map[string]any{"name": "Hooli", "email": "ap@hooli.example"})["id"].(string)
	a.must(200, "POST", "/v1/customers/"+gone+"/erase", nil, header("Idempotency-Key", "erase-1"))
	a.must(200, "GET", "/v1/organization/retention", nil)
	a.must(200, "PATCH", "/v1/organization/retention", map[string]any{"invoices": 11, "payments": 8})

	// API keys.
	created := a.must(201, "POST", "/v1/api-keys", map[string]any{"name": "ci", "scopes": []string{"invoices:read", "customers:write"},
		"expires_at": "2099-01-01T00:00:00Z"}, header("Idempotency-Key", "key-1"))
	key := created["id"].(string)
	a.must(200, "GET", "/v1/api-keys/"+key, nil)
	a.must(200, "GET", "/v1/api-keys?limit=100", nil)
	a.must(200, "POST", "/v1/api-keys/"+key+"/revoke", nil)

	// The audit log: the changes above, with proofs against a checkpoint.
	if _, err := e.audit.Checkpoint(context.Background(), a.org.ID); err != nil {
		t.Fatal(err)
	}
	a.must(200, "GET", "/v1/audit/checkpoint", nil)
	a.must(200, "GET", "/v1/audit-events?proof=true&limit=5", nil)
	a.must(200, "GET", "/v1/audit-events?object_type=invoice&object_id="+inv+"&action=invoice.finalized&created_after=2020-01-01T00:00:00Z&created_before=2099-01-01T00:00:00Z", nil)

	// The organization's own rate limits and the server's address rules.
	a.must(200, "GET", "/v1/organization/rate-limits", nil)
	a.must(200, "PUT", "/v1/organization/rate-limits", map[string]any{"limits": []any{
		map[string]any{"class": "api", "scope": "key", "requests": 10, "period_seconds": 1, "burst": 20}}})
	rule := a.must(201, "POST", "/v1/ip-rules", map[string]any{"action": "deny", "cidr": "203.0.113.0/24", "note": "scanner",
		"expires_at": "2099-01-01T00:00:00Z"}, header("Idempotency-Key", "ipr-1"))["id"].(string)
	a.must(200, "GET", "/v1/ip-rules", nil)
	a.must(200, "DELETE", "/v1/ip-rules/"+rule, nil)

	// Errors, which the document describes too.
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		opts         []opt
	}{
		{"GET", "/v1/customers/cus_01J0000000000000000000000Z", nil, 404, nil},
		{"GET", "/v1/customers?limit=0", nil, 400, []opt{invalid}},
		{"POST", "/v1/customers", `{"name": `, 400, []opt{invalid}},
		{"POST", "/v1/customers", map[string]any{"name": ""}, 422, nil},
		{"DELETE", "/v1/customers/" + cus, nil, 409, nil},
		{"DELETE", "/v1/invoices/" + inv, nil, 409, nil},
		{"POST", "/v1/invoices/" + inv + "/void", nil, 409, nil},
		{"POST", "/v1/customers", strings.Repeat(" ", 300<<10) + "{}", 413, []opt{invalid}},
		{"GET", "/v1/nothing-here", nil, 404, []opt{invalid}},
		{"PUT", "/v1/customers", nil, 405, []opt{invalid}},
		{"PUT", "/v1/organization/rate-limits", map[string]any{"limits": []any{map[string]any{"class": "signin", "scope": "key", "requests": 0, "period_seconds": 1, "burst": 1}}}, 422, []opt{invalid}},
		{"POST", "/v1/ip-rules", map[string]any{"action": "deny", "cidr": "203.0.113.0/33"}, 422, nil},
		{"DELETE", "/v1/ip-rules/" + rule, nil, 404, nil},
		{"PATCH", "/v1/organization/retention", map[string]any{"audit": 5}, 422, []opt{invalid}},
		{"PATCH", "/v1/customers/" + gone, map[string]any{"notes": "back again"}, 409, nil},
	} {
		if r := a.do(c.method, c.path, c.body, c.opts...); r.status != c.status {
			t.Errorf("%v, want %d", r, c.status)
		}
	}
	if r := nobody.do("GET", "/v1/customers", nil, invalid); r.status != 401 {
		t.Errorf("%v, want 401", r)
	}
	if r := a.with(e.key(a.org.ID, "invoices:read")).do("GET", "/v1/customers", nil); r.status != 403 {
		t.Errorf("%v, want 403", r)
	}
	// The blanket write scope does not reach the server's address rules.
	if r := a.with(e.key(a.org.ID, "write")).do("POST", "/v1/ip-rules", map[string]any{"action": "deny", "cidr": "192.0.2.1"}); r.status != 403 {
		t.Errorf("%v, want 403", r)
	}

	identityScenario(t, e, a)
	mfaScenario(t, e, a)

	oauthScenario(t, a)
	ssoScenario(t, a)

	for path, item := range e.spec.doc.Paths.Map() {
		for method := range item.Operations() {
			if !e.covered[method+" "+path] {
				t.Errorf("the scenario never calls %s %s", method, path)
			}
		}
	}
}
