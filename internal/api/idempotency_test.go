package api_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar/internal/api"
	"bursar/internal/customer"
	"bursar/internal/org"
)

// countCustomers counts the caller's customers.
func (c client) countCustomers(t *testing.T) int {
	t.Helper()
	return len(c.must(200, "GET", "/v1/customers?limit=100", nil)["data"].([]any))
}

func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.tenant("Acme"), e.tenant("Beta")
	body := map[string]any{"name": "Globex"}
	key := header("Idempotency-Key", "create-globex-1")

	first := a.do("POST", "/v1/customers", body, key)
	again := a.do("POST", "/v1/customers", body, key)
	if first.status != 201 || again.status != 201 || !bytes.Equal(first.body, again.body) {
		t.Fatalf("first %v\nreplay %v\nwant the same 201 twice", first, again)
	}
	if first.header.Get("Idempotent-Replayed") != "" || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed: first %q, replay %q; want \"\" and \"true\"",
			first.header.Get("Idempotent-Replayed"), again.header.Get("Idempotent-Replayed"))
	}
	if n := a.countCustomers(t); n != 1 {
		t.Errorf("%d customers after a replay, want 1", n)
	}

	t.Run("the same key for another request is refused", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{{"POST", "/v1/customers"}, {"POST", "/v1/tax-rates"}} {
			r := a.do(c.method, c.path, map[string]any{"name": "Initech"}, key, invalid)
			if p := r.problem(t); r.status != 422 || p.Code != "idempotency_key_reused" {
				t.Errorf("%v, want 422 idempotency_key_reused", r)
			}
		}
		if n := a.countCustomers(t); n != 1 {
			t.Errorf("%d customers, want 1", n)
		}
	})

	t.Run("another organization may use the same key", func(t *testing.T) {
		r := b.do("POST", "/v1/customers", body, key)
		if r.status != 201 || r.header.Get("Idempotent-Replayed") != "" || bytes.Equal(r.body, first.body) {
			t.Errorf("%v, want a new customer of B", r)
		}
		if n := b.countCustomers(t); n != 1 {
			t.Errorf("B has %d customers, want 1", n)
		}
	})

	t.Run("a refusal is kept and replayed", func(t *testing.T) {
		k := header("Idempotency-Key", "bad-1")
		bad := map[string]any{"name": "X", "currency": "XYZ"}
		r1, r2 := a.do("POST", "/v1/customers", bad, k), a.do("POST", "/v1/customers", bad, k)
		if r1.status != 422 || r2.status != 422 || r2.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("first %v\nreplay %v\nwant 422 replayed", r1, r2)
		}
	})

	t.Run("an action is replayed, not done twice", func(t *testing.T) {
		cus := first.obj(t)["id"].(string)
		inv := a.must(201, "POST", "/v1/invoices", map[string]any{"customer_id": cus,
			"lines": []any{map[string]any{"description": "x", "quantity": "1", "unit_price": "10.00"}}})["id"].(string)
		k := header("Idempotency-Key", "finalize-"+inv)
		r1, r2 := a.do("POST", "/v1/invoices/"+inv+"/finalize", nil, k), a.do("POST", "/v1/invoices/"+inv+"/finalize", nil, k)
		if r1.status != 200 || r2.status != 200 || !bytes.Equal(r1.body, r2.body) {
			t.Errorf("first %v\nreplay %v\nwant the same 200", r1, r2)
		}
		if r := a.do("POST", "/v1/invoices/"+inv+"/finalize", nil, header("Idempotency-Key", "finalize-again")); r.status != 409 {
			t.Errorf("%v, want 409 with a new key", r)
		}
		pay := map[string]any{"amount": "4.00"}
		k = header("Idempotency-Key", "pay-"+inv)
		p1, p2 := a.do("POST", "/v1/invoices/"+inv+"/payments", pay, k), a.do("POST", "/v1/invoices/"+inv+"/payments", pay, k)
		if p1.status != 201 || !bytes.Equal(p1.body, p2.body) {
			t.Errorf("first %v\nreplay %v", p1, p2)
		}
		if n := len(a.must(200, "GET", "/v1/invoices/"+inv+"/payments", nil)["data"].([]any)); n != 1 {
			t.Errorf("%d payments after a replay, want 1", n)
		}
	})

	t.Run("a replay never shows an API key's secret", func(t *testing.T) {
		k := header("Idempotency-Key", "key-1")
		req := map[string]any{"name": "ci", "scopes": []string{"read"}}
		r1, r2 := a.do("POST", "/v1/api-keys", req, k), a.do("POST", "/v1/api-keys", req, k)
		m1, m2 := r1.obj(t), r2.obj(t)
		if r1.status != 201 || r2.status != 201 || m1["id"] != m2["id"] {
			t.Fatalf("first %v\nreplay %v\nwant one key", r1, r2)
		}
		secret, _ := m1["secret"].(string)
		if secret == "" || strings.Contains(string(r2.body), secret) || m2["secret"] != nil {
			t.Errorf("first %s\nreplay %s\nwant the secret in the first only", r1.body, r2.body)
		}
	})

	t.Run("an invalid key is refused", func(t *testing.T) {
		for _, k := range []string{"", strings.Repeat("k", 256), "tab\tkey", "naïve"} {
			r := a.do("POST", "/v1/customers", body, header("Idempotency-Key", k), invalid)
			if p := r.problem(t); r.status != 400 || p.Code != "invalid_idempotency_key" {
				t.Errorf("key %q: %v, want 400 invalid_idempotency_key", k, r)
			}
		}
	})
}

// flakyCustomers fails or holds the inserts of customers as the test says.
type flakyCustomers struct {
	customer.Store
	before func() error
}

func (f flakyCustomers) InsertCustomer(ctx context.Context, c *customer.Customer) error {
	if err := f.before(); err != nil {
		return err
	}
	return f.Store.InsertCustomer(ctx, c)
}

// withCustomerStore makes the API create customers through wrap(store).
func withCustomerStore(wrap func(customer.Store) customer.Store) func(*api.Deps) {
	return func(d *api.Deps) {
		d.Customers = &customer.Service{Store: wrap(d.CustomerStore), Now: time.Now}
	}
}

func TestIdempotencyKeyIsReleasedOnAnInternalError(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	failures := 1
	e := newEnv(t, func(d *api.Deps) { d.Logger = slog.New(slog.NewTextHandler(&log, nil)) },
		withCustomerStore(func(s customer.Store) customer.Store {
			return flakyCustomers{s, func() error {
				if failures > 0 {
					failures--
					return errors.New("disk on fire: INSERT INTO customers failed at /var/lib/bursar")
				}
				return nil
			}}
		}))
	a := e.tenant("Acme")
	k := header("Idempotency-Key", "retry-me")
	r := a.do("POST", "/v1/customers", map[string]any{"name": "Globex"}, k)
	p := r.problem(t)
	if r.status != 500 || p.Code != "internal_error" {
		t.Fatalf("%v, want 500 internal_error", r)
	}
	if strings.Contains(string(r.body), "disk") || strings.Contains(string(r.body), "INSERT") {
		t.Errorf("the 500 shows its cause: %s", r.body)
	}
	if !strings.Contains(log.String(), "disk on fire") || !strings.Contains(log.String(), p.RequestID) {
		t.Errorf("the cause is not logged with the request id %s: %s", p.RequestID, log.String())
	}
	r = a.do("POST", "/v1/customers", map[string]any{"name": "Globex"}, k)
	if r.status != 201 || r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("retry: %v, want a fresh 201", r)
	}
	if n := a.countCustomers(t); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
}

// slowOrgs holds the reads of organizations as the test says.
type slowOrgs struct {
	org.Store
	before func()
}

func (s slowOrgs) GetOrganization(ctx context.Context, id string) (*org.Organization, error) {
	s.before()
	return s.Store.GetOrganization(ctx, id)
}

// TestIdempotencyKeyInFlight holds the first request in a read that comes
// before its write transaction: inside it, on SQLite, the transaction
// (the write and its audit entry) would hold every other writer back,
// the second request's reservation of the key included.
func TestIdempotencyKeyInFlight(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e := newEnv(t, func(d *api.Deps) {
		d.Orgs = slowOrgs{d.Orgs, func() { once.Do(func() { close(entered); <-release }) }}
	})
	a := e.tenant("Acme")
	body := map[string]any{"name": "Globex"}
	k := header("Idempotency-Key", "slow-1")

	done := make(chan resp)
	go func() { done <- a.do("POST", "/v1/customers", body, k) }()
	<-entered
	r := a.do("POST", "/v1/customers", body, k)
	if p := r.problem(t); r.status != 409 || p.Code != "idempotency_key_in_use" {
		t.Errorf("%v, want 409 idempotency_key_in_use while the first is in flight", r)
	}
	close(release)
	first := <-done
	if first.status != 201 {
		t.Fatalf("%v, want 201", first)
	}
	if r := a.do("POST", "/v1/customers", body, k); !bytes.Equal(r.body, first.body) || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("%v, want the replay of the first", r)
	}
}

// Concurrent duplicates make one object; each answer is that object or
// "in use".
func TestIdempotencyUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	var wg sync.WaitGroup
	answers := make([]resp, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = a.do("POST", "/v1/customers", map[string]any{"name": "Globex"}, header("Idempotency-Key", "race-1"))
		}()
	}
	wg.Wait()
	var created []byte
	for _, r := range answers {
		switch {
		case r.status == http.StatusCreated && created == nil:
			created = r.body
		case r.status == http.StatusCreated && !bytes.Equal(r.body, created):
			t.Errorf("two different customers: %s and %s", created, r.body)
		case r.status == http.StatusConflict && r.problem(t).Code == "idempotency_key_in_use":
		case r.status != http.StatusCreated:
			t.Errorf("%v, want 201 or 409 idempotency_key_in_use", r)
		}
	}
	if n := a.countCustomers(t); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
}
