package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"bursar/internal/api"
	"bursar/internal/audit"
)

// entries returns the tree's entries, oldest first.
func (e *env) entries(t *testing.T, tree string) []*audit.Entry {
	t.Helper()
	var out []*audit.Entry
	if err := e.st.ScanAuditLeaves(context.Background(), tree, func(_ int64, leaf []byte) error {
		en, err := audit.Parse(leaf)
		out = append(out, en)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAuditRecordsChangesWithoutPersonalData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	r := a.do("POST", "/v1/customers", map[string]any{"name": "Jane Roe", "email": "jane@example.com", "currency": "EUR"})
	if r.status != 201 {
		t.Fatalf("%v, want 201", r)
	}
	cus := r.obj(t)["id"].(string)
	a.must(200, "PATCH", "/v1/customers/"+cus, map[string]any{"email": "roe@example.com", "payment_terms_days": 14})
	a.must(204, "DELETE", "/v1/customers/"+cus, nil)

	got := e.entries(t, a.org.ID)
	var actions []string
	for _, en := range got {
		actions = append(actions, en.Action)
	}
	if want := "customer.created customer.updated customer.deleted"; strings.Join(actions, " ") != want {
		t.Fatalf("actions = %v, want %s", actions, want)
	}
	created, updated := got[0], got[1]
	if created.ObjectID != cus || created.Actor.Type != audit.ActorAPIKey || created.Actor.ID == "" {
		t.Errorf("created entry = %+v, want the customer and the API key", created)
	}
	if created.RequestID != r.header.Get("X-Request-Id") || created.AddressHash == "" {
		t.Errorf("created entry has request id %q and address hash %q, want %q and a hash", created.RequestID, created.AddressHash, r.header.Get("X-Request-Id"))
	}
	var names []string
	for _, f := range updated.Fields {
		names = append(names, f.Name)
		switch f.Name {
		case "email":
			if f.Hash == "" || f.Value != nil {
				t.Errorf("email logged as %+v, want a keyed hash only", f)
			}
		case "payment_terms_days":
			if string(f.Value) != "14" {
				t.Errorf("payment_terms_days logged as %+v, want the value 14", f)
			}
		}
	}
	if strings.Join(names, ",") != "email,payment_terms_days" {
		t.Errorf("updated fields = %v, want only email and payment_terms_days", names)
	}
	for _, en := range got {
		leaf, err := en.Leaf()
		if err != nil {
			t.Fatal(err)
		}
		for _, personal := range []string{"jane@example.com", "roe@example.com", "Jane Roe"} {
			if strings.Contains(string(leaf), personal) {
				t.Errorf("leaf %d holds %q in clear: %s", en.Index, personal, leaf)
			}
		}
	}
	if problems, err := audit.Verify(context.Background(), e.st, e.audit.Keys.Verifier); err != nil || len(problems) > 0 {
		t.Errorf("Verify = %v, %v; want an intact log", problems, err)
	}
}

// failingAudit is an audit store whose entries cannot be written.
type failingAudit struct{ audit.Store }

func (failingAudit) InsertAuditEntry(context.Context, *audit.Entry, []byte, []tlog.Hash) error {
	return errors.New("audit table full")
}

// TestAuditFailureFailsTheChange proves that the entry is written in the
// change's transaction: when it cannot be written, the change is not
// there either.
func TestAuditFailureFailsTheChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *api.Deps) {
		d.Audit = &audit.Log{Store: failingAudit{d.Audit.Store}, Keys: d.Audit.Keys, Now: d.Audit.Now}
	})
	a := e.tenant("Acme")
	if r := a.do("POST", "/v1/customers", map[string]any{"name": "Globex"}); r.status != 500 {
		t.Fatalf("%v, want 500", r)
	}
	if r := a.do("POST", "/v1/tax-rates", map[string]any{"name": "VAT", "percentage": "19", "category": "S"}); r.status != 500 {
		t.Fatalf("%v, want 500", r)
	}
	if n := a.countCustomers(t); n != 0 {
		t.Errorf("%d customers stored, want 0: the change outlived its failed audit entry", n)
	}
	if n := len(a.must(200, "GET", "/v1/tax-rates", nil)["data"].([]any)); n != 0 {
		t.Errorf("%d tax rates stored, want 0", n)
	}
}

func TestAuditRecordsRefusedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	if r := a.with("bsk_notakeyatall").do("GET", "/v1/customers", nil); r.status != 401 {
		t.Fatalf("%v, want 401", r)
	}
	limited := e.key(a.org.ID, "invoices:read")
	if r := a.with(limited).do("POST", "/v1/customers", map[string]any{"name": "X"}); r.status != 403 {
		t.Fatalf("%v, want 403", r)
	}
	sys := e.entries(t, audit.SystemTree)
	if len(sys) != 1 || sys[0].Action != "api_key.rejected" || sys[0].ObjectID != "GET /v1/customers" {
		t.Errorf("system tree = %+v, want one api_key.rejected for GET /v1/customers", sys)
	}
	org := e.entries(t, a.org.ID)
	if len(org) != 1 || org[0].Action != "permission.denied" || org[0].ObjectID != "POST /v1/customers" {
		t.Fatalf("organization tree = %+v, want one permission.denied", org)
	}
	if org[0].Actor.Type != audit.ActorAPIKey || org[0].Actor.ID == "" {
		t.Errorf("denied entry actor = %+v, want the key", org[0].Actor)
	}
}

// The audit log needs its own scope: the blanket read scope does not
// reach it.
func TestAuditEventsNeedTheirScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	a.must(201, "POST", "/v1/customers", map[string]any{"name": "Globex"})
	if r := a.with(e.key(a.org.ID, "read")).do("GET", "/v1/audit-events", nil); r.status != 403 {
		t.Errorf("%v, want 403 for the blanket read scope", r)
	}
	l := a.with(e.key(a.org.ID, "audit:read")).must(200, "GET", "/v1/audit-events?action=customer.created", nil)
	if n := len(l["data"].([]any)); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// Each entry's proof checks against the checkpoint the API serves.
func TestAuditEventProofs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	for _, n := range []string{"A", "B", "C"} {
		a.must(201, "POST", "/v1/customers", map[string]any{"name": n})
	}
	if r := a.do("GET", "/v1/audit/checkpoint", nil); r.status != 404 {
		t.Errorf("%v, want 404 before the first checkpoint", r)
	}
	if _, err := e.audit.Checkpoint(context.Background(), a.org.ID); err != nil {
		t.Fatal(err)
	}
	cpv := a.must(200, "GET", "/v1/audit/checkpoint", nil)
	cp, err := audit.OpenCheckpoint([]byte(cpv["note"].(string)), e.audit.Keys.Verifier)
	if err != nil || cp.Size != 3 {
		t.Fatalf("checkpoint = %+v, %v; want a signed size 3", cp, err)
	}
	l := a.must(200, "GET", "/v1/audit-events?proof=true", nil)["data"].([]any)
	if len(l) != 3 {
		t.Fatalf("%d events, want 3", len(l))
	}
	for _, item := range l {
		ev := item.(map[string]any)
		pr := ev["proof"].(map[string]any)
		var proof tlog.RecordProof
		for _, h := range pr["hashes"].([]any) {
			var x tlog.Hash
			if err := x.UnmarshalJSON([]byte(`"` + h.(string) + `"`)); err != nil {
				t.Fatal(err)
			}
			proof = append(proof, x)
		}
		idx := int64(ev["index"].(float64))
		if err := tlog.CheckRecord(proof, cp.Size, cp.Hash, idx, tlog.RecordHash([]byte(ev["leaf"].(string)))); err != nil {
			t.Errorf("event %d: proof does not check: %v", idx, err)
		}
	}
}

// A lifecycle action's entry names exactly the fields it changed: the
// "before" is the invoice as the transition loaded it under lock.
func TestAuditInvoiceActionRecordsChangedFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	f := a.seed(t)
	inv := a.must(201, "POST", "/v1/invoices", map[string]any{"customer_id": f.customer, "issue_date": "2026-01-01",
		"lines": []any{map[string]any{"description": "x", "quantity": "1", "unit_price": "100.00"}}})
	id := inv["id"].(string)
	a.must(200, "POST", "/v1/invoices/"+id+"/finalize", nil)
	a.must(200, "POST", "/v1/invoices/"+id+"/void", nil)

	fields := map[string][]string{}
	for _, en := range e.entries(t, a.org.ID) {
		if en.ObjectID != id {
			continue
		}
		for _, fl := range en.Fields {
			fields[en.Action] = append(fields[en.Action], fl.Name)
		}
	}
	for action, want := range map[string][]string{
		"invoice.finalized": {"status", "number", "finalized_at"},
		"invoice.voided":    {"status"},
	} {
		got := strings.Join(fields[action], " ")
		for _, w := range want {
			if !strings.Contains(" "+got+" ", " "+w+" ") {
				t.Errorf("%s changed %q, want it to name %s", action, got, w)
			}
		}
		for _, unchanged := range []string{"currency", "lines", "customer_id"} {
			if strings.Contains(" "+got+" ", " "+unchanged+" ") {
				t.Errorf("%s changed %q, which names the unchanged %s", action, got, unchanged)
			}
		}
	}
	if got := strings.Join(fields["invoice.voided"], " "); strings.Contains(got, "number") {
		t.Errorf("invoice.voided changed %q: the number was set at finalize, not now", got)
	}
}
