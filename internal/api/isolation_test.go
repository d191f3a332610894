package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"bursar/internal/api"
	"bursar/internal/auth"
)

// Organization B's key, and then B's owner signed in with a session, call
// every route of the table with organization A's ids, to read and to
// write: every object of A is not found, no answer holds anything of A,
// and A's data is the same after.
func TestASVS_8_4_1_OrganizationsAreIsolated(t *testing.T) {
	t.Parallel()
	t.Run("api key", func(t *testing.T) { t.Parallel(); isolated(t, false) })
	t.Run("session", func(t *testing.T) { t.Parallel(); isolated(t, true) })
}

// doer sends a request as one caller.
type doer interface {
	do(method, path string, body any, opts ...opt) resp
}

func isolated(t *testing.T, session bool) {
	// A is the server's admin organization: B may not touch the address
	// rules, which are the whole server's.
	var admin string
	e := newEnv(t, withGuard, func(d *api.Deps) { d.ServerAdmin = func(orgID string) bool { return orgID == admin } })
	a, bt := e.tenant("Acme"), e.tenant("Beta")
	admin = a.org.ID
	var b doer = bt
	if session {
		e.withPassword(bt.org.Email, goodPassword)
		b = e.login(bt.org.Email, goodPassword)
	}
	fa := a.seed(t)
	bt.seed(t)
	inv := a.must(201, "POST", "/v1/users", map[string]any{"email": "invitee@acme.example", "role": "viewer"})["id"].(string)
	rule := a.must(201, "POST", "/v1/ip-rules", map[string]any{"action": "deny", "cidr": "198.51.100.0/24", "note": "rule-of-acme"})["id"].(string)
	before := a.snapshot(t)
	ofA := []string{a.org.ID, fa.customer, fa.taxRate, fa.product, fa.draft, fa.open, fa.payment, fa.creditNote, fa.apiKey,
		"Acme", "customer-of-acme"}

	// The ids of A that each route with an {id} is called with.
	ids := map[string][]string{
		"/v1/customers/": {fa.customer}, "/v1/products/": {fa.product}, "/v1/tax-rates/": {fa.taxRate},
		"/v1/invoices/": {fa.draft, fa.open}, "/v1/credit-notes/": {fa.creditNote}, "/v1/payments/": {fa.payment},
		"/v1/api-keys/": {fa.apiKey}, "/v1/ip-rules/": {rule}, "/v1/users/": {ownerOf(t, e, a)},
		"/v1/invitations/": {inv},
	}
	// What B sends to each route: valid bodies, so that only the owner of
	// the ids can make the answer differ; routes without an {id} name A's
	// objects in their body or filters.
	bodies := map[string]any{
		"PATCH /v1/customers/{id}":        map[string]any{"name": "Hijacked"},
		"PATCH /v1/products/{id}":         map[string]any{"name": "Hijacked"},
		"PATCH /v1/tax-rates/{id}":        map[string]any{"name": "Hijacked"},
		"PATCH /v1/invoices/{id}":         map[string]any{"notes": "Hijacked"},
		"PATCH /v1/users/{id}":            map[string]any{"role": "viewer"},
		"POST /v1/invoices/{id}/payments": map[string]any{"amount": "1.00"},
		"PATCH /v1/organization":          map[string]any{"notes_are_not_a_field": "x"},
		"POST /v1/customers":              map[string]any{"name": "Customer of Beta 2"},
		"POST /v1/tax-rates":              map[string]any{"name": "Zero", "percentage": "0", "category": "Z"},
		"POST /v1/products":               map[string]any{"name": "P", "unit_price": "1.00", "tax_rate_ids": []string{fa.taxRate}},
		"POST /v1/invoices":               map[string]any{"customer_id": fa.customer, "lines": []any{map[string]any{"description": "x", "quantity": "1", "unit_price": "1.00"}}},
		"POST /v1/credit-notes":           map[string]any{"invoice_id": fa.open, "reason": "x"},
		"POST /v1/api-keys":               map[string]any{"scopes": []string{"read"}},
		"PUT /v1/organization/mfa":        map[string]any{"required": false},
		"GET /v1/customers":               "?email=billing%40customer-of-acme.example",
		"GET /v1/invoices":                "?customer_id=" + fa.customer,
		"GET /v1/credit-notes":            "?invoice_id=" + fa.open,
		"GET /v1/payments":                "?invoice_id=" + fa.open,
	}
	// Creating with a reference to A's objects is refused, naming it.
	refused := map[string]string{"POST /v1/products": "tax_rate_ids[0]", "POST /v1/invoices": "customer_id", "POST /v1/credit-notes": "invoice_id"}

	calls := 0
	for _, rt := range api.Routes(e.h) {
		if !rt.Permissioned {
			continue
		}
		key := rt.Method + " " + rt.Pattern
		body := bodies[key]
		if slices.Contains(auth.ServerResources, rt.Resource) {
			r := b.do(rt.Method, strings.Replace(rt.Pattern, "{id}", rule, 1), map[string]any{"action": "allow", "cidr": "0.0.0.0/0"})
			calls++
			if p := r.problem(t); r.status != 403 || p.Code != "not_server_admin" {
				t.Errorf("%v, want 403 not_server_admin", r)
			}
			noneOf(t, r, append(ofA, "rule-of-acme"), "")
			continue
		}
		if !strings.Contains(rt.Pattern, "{id}") {
			path := rt.Pattern
			if q, ok := body.(string); ok {
				path, body = path+q, nil
			}
			r := b.do(rt.Method, path, body, invalid)
			calls++
			noneOf(t, r, ofA, "")
			if field, ok := refused[key]; ok {
				if p := r.problem(t); r.status != 422 || len(p.Errors) == 0 || p.Errors[0].Field != field {
					t.Errorf("%v, want 422 naming %s", r, field)
				}
			} else if r.status >= 500 {
				t.Errorf("%v", r)
			}
			if m := r.obj(t); rt.Method == http.MethodGet && m["data"] != nil && len(m["data"].([]any)) > 0 && strings.Contains(path, "?") {
				t.Errorf("%v: a filter naming A's object lists something", r)
			}
			continue
		}
		base := rt.Pattern[:strings.Index(rt.Pattern, "{id}")]
		if len(ids[base]) == 0 {
			t.Fatalf("no id of A for %s", key)
		}
		for _, id := range ids[base] {
			r := b.do(rt.Method, strings.Replace(rt.Pattern, "{id}", id, 1), body)
			calls++
			if p := r.problem(t); r.status != 404 || p.Code != "not_found" {
				t.Errorf("%v, want 404 not_found", r)
			}
			noneOf(t, r, ofA, id)
		}
	}
	permissioned := 0
	for _, rt := range api.Routes(e.h) {
		if rt.Permissioned {
			permissioned++
		}
	}
	if calls < permissioned {
		t.Errorf("%d calls for %d routes", calls, permissioned)
	}
	sameSnapshot(t, "A's data after B's calls", before, a.snapshot(t))
	// A itself still sees its objects.
	a.must(200, "GET", "/v1/invoices/"+fa.open, nil)
}

// noneOf fails when the answer holds anything of the list but the id the
// caller named itself.
func noneOf(t *testing.T, r resp, of []string, named string) {
	t.Helper()
	for _, s := range of {
		if s != named && strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(s)) {
			t.Errorf("%v: the answer holds %q of the other organization", r, s)
		}
	}
}
