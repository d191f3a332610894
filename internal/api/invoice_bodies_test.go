package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bursar/internal/api"
)

// GET /v1/invoices/{id} answers from the invoices it answered before
// (invoiceBodies) when they have not changed. Two APIs over one store
// stand for two replicas: every change made through one shows at once in
// the other's answers, byte for byte as a fresh API answers, and so does
// the overdue flag when the clock passes the due date.
func TestInvoiceAnswersFollowEveryChange(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	var deps api.Deps
	e := newEnv(t, func(d *api.Deps) {
		d.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		deps = *d
	})
	acme := e.tenant("Acme")
	f := acme.seed(t)
	other := e.tenant("Globex")
	replicaA, replicaB := e.h, api.New(deps)

	get := func(h http.Handler, key, id string) (int, []byte) {
		t.Helper()
		req := httptest.NewRequest("GET", "/v1/invoices/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	call := func(h http.Handler, method, path, body string, want int) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+acme.key)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, want)
		}
	}
	// current checks that replica A answers the invoice as an API that
	// never answered it before does, twice (the second answer is a kept
	// one), and returns the answer.
	current := func(what, id string) map[string]any {
		t.Helper()
		_, want := get(api.New(deps), acme.key, id)
		for range 2 {
			code, got := get(replicaA, acme.key, id)
			if code != http.StatusOK || !bytes.Equal(got, want) {
				t.Fatalf("%s: replica A answers %d %s\nwant %s", what, code, got, want)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(want, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	due := acme.must(201, "POST", "/v1/invoices", map[string]any{"customer_id": f.customer, "issue_date": "2026-03-01",
		"due_date": "2026-03-15", "lines": []any{map[string]any{"description": "Audit", "quantity": "2", "unit_price": "50.00"}}})
	id := due["id"].(string)
	current("new draft", id)

	call(replicaB, "PATCH", "/v1/invoices/"+id, `{"notes": "Changed on replica B"}`, http.StatusOK)
	if got := current("draft changed by replica B", id); got["notes"] != "Changed on replica B" {
		t.Fatalf("notes = %v", got["notes"])
	}
	call(replicaB, "POST", "/v1/invoices/"+id+"/finalize", "", http.StatusOK)
	if got := current("finalized by replica B", id); got["status"] != "open" || got["number"] == "" || got["overdue"] != false {
		t.Fatalf("after finalize: %v", got)
	}
	call(replicaB, "POST", "/v1/invoices/"+id+"/payments", `{"amount": "30.00"}`, http.StatusCreated)
	if got := current("partly paid through replica B", id); got["totals"].(map[string]any)["paid"] != "30.00" {
		t.Fatalf("after a payment: %v", got["totals"])
	}
	// No change to the invoice, but the due date has passed in Berlin.
	clock.Store(time.Date(2026, 3, 15, 23, 30, 0, 0, time.UTC).UnixNano())
	if got := current("past its due date", id); got["overdue"] != true {
		t.Fatalf("overdue = %v the day after the due date in Berlin", got["overdue"])
	}
	call(replicaB, "POST", "/v1/invoices/"+id+"/payments", `{"amount": "70.00"}`, http.StatusCreated)
	if got := current("paid through replica B", id); got["status"] != "paid" || got["overdue"] != false {
		t.Fatalf("after the last payment: %v", got)
	}

	// A kept answer is the organization's alone.
	if code, body := get(replicaA, other.key, id); code != http.StatusNotFound {
		t.Fatalf("another organization's key: %d %s, want 404", code, body)
	}
	// A deleted draft is gone from the answers too.
	current("draft", f.draft)
	call(replicaB, "DELETE", "/v1/invoices/"+f.draft, "", http.StatusNoContent)
	if code, body := get(replicaA, acme.key, f.draft); code != http.StatusNotFound {
		t.Fatalf("deleted draft: %d %s, want 404", code, body)
	}
}
