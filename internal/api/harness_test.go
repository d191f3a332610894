package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"bursar/internal/api"
	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/catalog"
	"bursar/internal/customer"
	"bursar/internal/ident"
	"bursar/internal/invoice"
	"bursar/internal/org"
	"bursar/internal/party"
	"bursar/internal/privacy"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
	"bursar/internal/vault"
)

// The document is loaded once: it is embedded and never changes.
var loadSpec = sync.OnceValues(func() (*spec, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &spec{doc: doc, router: router}, nil
})

type spec struct {
	doc    *openapi3.T
	router routers.Router
}

// env is one API over a fresh SQLite database, whose every request and
// response the tests check against the OpenAPI document.
type env struct {
	t    *testing.T
	st   *sqlstore.Store
	h    http.Handler
	auth *auth.Service
	// audit is the API's audit log.
	audit *audit.Log
	// identity serves users and sessions; mail holds what it sent.
	identity *auth.Identity
	mfa      *mfa.Service
	mail     *mailbox
	spec     *spec

	mu      sync.Mutex
	covered map[string]bool // "METHOD /path/{template}" of the document
}

// newEnv makes an env; opts change the API's dependencies before New.
func newEnv(t *testing.T, opts ...func(*api.Deps)) *env {
	t.Helper()
	// Seal as bursar serve does, so that every API test reads and writes
	// through the vault.
	kek, err := vault.EphemeralKEK()
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bursar.db"), sqlstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now
	keys := &auth.Service{Store: st, Now: now}
	auditKeys, err := audit.EphemeralKeys()
	if err != nil {
		t.Fatal(err)
	}
	auditLog := &audit.Log{Store: st, Keys: auditKeys, Now: now}
	d := api.Deps{
		Orgs:          st,
		Customers:     &customer.Service{Store: st, Now: now},
		CustomerStore: st,
		Catalog:       &catalog.Service{Store: st, Now: now},
		CatalogStore:  st,
		Invoices:      &invoice.Service{Store: st, Now: now},
		Auth:          keys,
		Idempotency:   st,
		Now:           now,
		MaxBodyBytes:  256 << 10,
		Audit:         auditLog,
		Privacy:       &privacy.Service{Store: st, Now: now},
	}
	box := &mailbox{}
	d.Identity = &auth.Identity{Store: st, Orgs: st, Mail: box, Now: now, BaseURL: "https://bursar.example"}
	d.MFA = newMFA(t, st, auditLog, now)
	d.Identity.SecondFactor = d.MFA
	for _, o := range opts {
		o(&d)
	}
	return &env{t: t, st: st, h: api.New(d), auth: keys, audit: d.Audit, identity: d.Identity, mfa: d.MFA, mail: box, spec: sp, covered: map[string]bool{}}
}

// tenant is an organization with an owner and a full-access key, made
// directly through the store and the services.
type tenant struct {
	org *org.Organization
	client
}

func (e *env) tenant(name string) *tenant {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now()
	o, err := org.New(org.Input{Name: name, Email: "owner@" + strings.ToLower(name) + ".example", DefaultCurrency: "EUR",
		TimeZone: "Europe/Berlin", Address: party.Address{Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		VATID: "DE123456789"}, now)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.InsertOrganization(ctx, o); err != nil {
		e.t.Fatal(err)
	}
	u := &auth.User{ID: ident.New("usr", now), Email: o.Email, Name: "Owner", CreatedAt: now.UTC()}
	if err := e.st.InsertUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.InsertMembership(ctx, &auth.Membership{OrgID: o.ID, UserID: u.ID, Role: auth.RoleOwner, CreatedAt: now.UTC()}); err != nil {
		e.t.Fatal(err)
	}
	return &tenant{org: o, client: client{e: e, key: e.key(o.ID, auth.FullAccess)}}
}

// key makes an API key of the organization with the scopes.
func (e *env) key(orgID string, scopes ...string) string {
	e.t.Helper()
	_, secret, err := e.auth.CreateAPIKey(context.Background(), orgID, "test", scopes, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// client calls the API with a key ("" for none).
type client struct {
	e   *env
	key string
}

func (c client) with(key string) client { return client{e: c.e, key: key} }

// reqOpts change one request.
type reqOpts struct {
	header  http.Header
	invalid bool // the request breaks the document on purpose
}

type opt func(*reqOpts)

func header(name, value string) opt { return func(o *reqOpts) { o.header.Add(name, value) } }

// invalid marks a request that breaks the OpenAPI document on purpose: it
// is not validated, but its response still is.
func invalid(o *reqOpts) { o.invalid = true }

// resp is an answer of the API.
type resp struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (r resp) String() string { return fmt.Sprintf("%s %s: %d %s", r.method, r.path, r.status, r.body) }

// obj decodes the body as a JSON object.
func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%v: body is not a JSON object: %v", r, err)
	}
	return m
}

// problem is the part of a problem document the tests look at.
type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
	RequestID string `json:"request_id"`
}

func (r resp) problem(t *testing.T) problem {
	t.Helper()
	var p problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("%v: not a problem document: %v", r, err)
	}
	return p
}

// fields lists the fields a problem names.
func (p problem) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// do sends a request: body is nil, raw bytes or a string sent as they are,
// or a value sent as JSON.
func (c client) do(method, path string, body any, opts ...opt) resp {
	c.e.t.Helper()
	o := reqOpts{header: http.Header{}}
	for _, f := range opts {
		f(&o)
	}
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.e.t.Fatal(err)
		}
	}
	newReq := func() *http.Request {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(raw)
		}
		req := httptest.NewRequest(method, path, rd)
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range o.header {
			req.Header[k] = v
		}
		return req
	}
	rec := httptest.NewRecorder()
	c.e.h.ServeHTTP(rec, newReq())
	r := resp{method: method, path: path, status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	c.e.conform(newReq(), o.invalid, r)
	return r
}

// must sends a request and fails the test unless it gets the status.
func (c client) must(status int, method, path string, body any, opts ...opt) map[string]any {
	c.e.t.Helper()
	r := c.do(method, path, body, opts...)
	if r.status != status {
		c.e.t.Fatalf("%v, want status %d", r, status)
	}
	if status == http.StatusNoContent {
		return nil
	}
	return r.obj(c.e.t)
}

// bearer is the authentication the document declares, as the validator
// checks it: the header is there; whether the key is good is the API's
// business.
func bearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName == "session" {
		if _, err := in.RequestValidationInput.Request.Cookie(api.SessionCookie); err != nil {
			return errors.New("no session cookie")
		}
		return nil
	}
	scheme, token, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// conform checks a request (unless it is invalid on purpose) and its
// response against the OpenAPI document.
func (e *env) conform(req *http.Request, invalidReq bool, r resp) {
	e.t.Helper()
	if ct := r.header.Get("Content-Type"); r.status >= 400 && ct != "application/problem+json" {
		e.t.Errorf("%v: Content-Type %q, want application/problem+json", r, ct)
	}
	if r.header.Get("X-Request-Id") == "" {
		e.t.Errorf("%v: no X-Request-Id", r)
	}
	route, params, err := e.spec.router.FindRoute(req)
	if err == nil && expand(route.Path, params) != req.URL.Path {
		// The router forgives a trailing slash or an empty {id}; the API
		// does not, and neither does the document.
		err = fmt.Errorf("the router matched %s %s to %s", req.Method, req.URL.Path, route.Path)
	}
	if err != nil {
		if !invalidReq {
			e.t.Errorf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		}
		// No operation to hold the response to: it must be a problem.
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			e.t.Errorf("%v: not JSON: %v", r, err)
			return
		}
		if err := e.spec.doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			e.t.Errorf("%v: not a problem document: %v", r, err)
		}
		return
	}
	e.mu.Lock()
	e.covered[route.Method+" "+route.Path] = true
	e.mu.Unlock()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearer, MultiError: true}}
	if !invalidReq {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			e.t.Errorf("%s %s: the request does not conform to the document: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(r.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		e.t.Errorf("%v\nthe response does not conform to the document: %v", r, err)
	}
}

// expand fills a path template with its parameters.
func expand(template string, params map[string]string) string {
	for k, v := range params {
		template = strings.ReplaceAll(template, "{"+k+"}", v)
	}
	return template
}

// fixture is a small set of objects of one organization.
type fixture struct {
	customer, taxRate, product, draft, open, payment, creditNote, apiKey string
}

// seed makes one object of each kind through the API: a draft and an open
// invoice, a payment and a credit note on the open one.
func (tn *tenant) seed(t *testing.T) fixture {
	t.Helper()
	var f fixture
	name := tn.org.Name
	f.customer = tn.must(201, "POST", "/v1/customers", map[string]any{"name": "Customer of " + name,
		"email": "billing@customer-of-" + strings.ToLower(name) + ".example", "currency": "EUR",
		"address": map[string]any{"line1": "1 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"},
		"tax_id":  "FR40303265045"})["id"].(string)
	f.taxRate = tn.must(201, "POST", "/v1/tax-rates", map[string]any{"name": "VAT of " + name, "percentage": "19", "category": "S"})["id"].(string)
	f.product = tn.must(201, "POST", "/v1/products", map[string]any{"name": "Consulting by " + name, "unit": "HUR", "unit_price": "125.00",
		"tax_rate_ids": []string{f.taxRate}})["id"].(string)
	f.draft = tn.must(201, "POST", "/v1/invoices", tn.invoiceBody(f, "1"))["id"].(string)
	f.open = tn.must(201, "POST", "/v1/invoices", tn.invoiceBody(f, "8"))["id"].(string)
	tn.must(200, "POST", "/v1/invoices/"+f.open+"/finalize", nil)
	paid := tn.must(201, "POST", "/v1/invoices/"+f.open+"/payments", map[string]any{"amount": "100.00", "method": "bank_transfer"})
	f.payment = paid["payment"].(map[string]any)["id"].(string)
	f.creditNote = tn.must(201, "POST", "/v1/credit-notes", map[string]any{"invoice_id": f.open, "reason": "goodwill",
		"lines": []any{map[string]any{"description": "Discount", "quantity": "1", "unit_price": "10.00", "tax_rate_ids": []string{f.taxRate}}}})["id"].(string)
	f.apiKey = tn.must(201, "POST", "/v1/api-keys", map[string]any{"name": "ci", "scopes": []string{"invoices:read"}})["id"].(string)
	return f
}

func (tn *tenant) invoiceBody(f fixture, quantity string) map[string]any {
	return map[string]any{"customer_id": f.customer, "currency": "EUR", "lines": []any{map[string]any{
		"description": "Consulting", "quantity": quantity, "unit": "HUR", "unit_price": "125.00", "tax_rate_ids": []string{f.taxRate}}}}
}

// snapshot is everything the caller's organization holds, as the API
// shows it: comparing two snapshots proves that nothing was written. The
// last use of API keys is left out; using a key records it.
func (c client) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, path := range []string{"/v1/organization", "/v1/customers", "/v1/products", "/v1/tax-rates", "/v1/invoices",
		"/v1/credit-notes", "/v1/payments", "/v1/api-keys"} {
		if path != "/v1/organization" {
			path += "?limit=100"
		}
		m := c.must(200, "GET", path, nil)
		if m["has_more"] == true {
			t.Fatalf("%s has more than one page; the snapshot would be partial", path)
		}
		if data, ok := m["data"].([]any); ok {
			for _, x := range data {
				delete(x.(map[string]any), "last_used_at")
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out[path] = string(b)
	}
	return out
}

// sameSnapshot reports what differs between two snapshots.
func sameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for path, b := range before {
		if after[path] != b {
			t.Errorf("%s changed %s:\nbefore %s\nafter  %s", what, path, b, after[path])
		}
	}
}
