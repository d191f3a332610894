package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/org"
	"bursar/internal/page"
	"bursar/internal/server"
	"bursar/internal/store/sqlite"
)

// A request the WAF blocks is in the audit log's system tree with the
// rules that caught it, its request id and a keyed hash of the address,
// never the address or the attack's query; a scanner's flood is audited up
// to its address's budget, and the log still verifies.
func TestWAFBlocksAreAudited(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := audit.EphemeralKeys()
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Config{AuditKeys: keys, Guard: server.GuardConfig{DisableRateLimits: true}}, st,
		slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now).Handler()

	target := "/v1/invoices?status=" + url.QueryEscape(injection)
	w := call(h, "", "GET", target, "")
	if w.Code != http.StatusForbidden {
		t.Fatalf("attack: status %d, want 403", w.Code)
	}
	entries, err := st.ListAuditEntries(ctx, audit.Filter{Tree: audit.SystemTree, Action: "waf.blocked"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d waf.blocked entries, want 1", len(entries))
	}
	e := entries[0].Entry
	var rules []int
	for _, f := range e.Fields {
		if f.Name == "rules" {
			_ = json.Unmarshal(f.Value, &rules)
		}
	}
	if !slices.Contains(rules, 949110) || !slices.Contains(rules, 942100) {
		t.Errorf("rules %v, want the SQL injection rule 942100 and the blocking evaluation 949110", rules)
	}
	if e.RequestID == "" || e.RequestID != w.Header().Get("X-Request-Id") {
		t.Errorf("request id %q, want the answer's %q", e.RequestID, w.Header().Get("X-Request-Id"))
	}
	if e.ObjectID != "/v1/invoices" || e.AddressHash == "" {
		t.Errorf("object %q, address hash %q; want the path alone and a hash", e.ObjectID, e.AddressHash)
	}
	if leaf := string(entries[0].Leaf); slices.ContainsFunc([]string{"OR 1=1", "192.0.2.1"}, func(s string) bool { return strings.Contains(leaf, s) }) {
		t.Errorf("the leaf holds the attack or the address in clear: %s", leaf)
	}

	// A flood from one address: audited up to the burst, then logged only.
	for range 40 {
		if w := call(h, "", "GET", target, ""); w.Code != http.StatusForbidden {
			t.Fatalf("attack: status %d, want 403", w.Code)
		}
	}
	entries, err = st.ListAuditEntries(ctx, audit.Filter{Tree: audit.SystemTree, Action: "waf.blocked", Params: page.Params{Limit: page.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(entries); n < 20 || n > 22 {
		t.Errorf("%d entries after a flood of 41 attacks, want the burst of 20 (or one or two more refilled)", n)
	}
	if problems, err := audit.Verify(ctx, st, keys.Verifier); err != nil || len(problems) > 0 {
		t.Errorf("the audit log does not verify: %v %v", problems, err)
	}
}

// A key's use is audited when its last use is recorded: the first request,
// then at most once a minute, in the key's organization's tree.
func TestKeyUseIsAudited(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
	o, err := org.New(org.Input{Name: "Acme GmbH", DefaultCurrency: "EUR"}, now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InsertOrganization(ctx, o); err != nil {
		t.Fatal(err)
	}
	k, key, err := (&auth.Service{Store: st, Now: now}).CreateAPIKey(ctx, o.ID, "test", []string{auth.FullAccess}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Config{Guard: server.GuardConfig{DisableRateLimits: true}}, st,
		slog.New(slog.NewTextHandler(io.Discard, nil)), now).Handler()
	used := func() []*audit.Stored {
		t.Helper()
		got, err := st.ListAuditEntries(ctx, audit.Filter{Tree: o.ID, Action: "api_key.used"})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	get := func() *httptest.ResponseRecorder {
		w := call(h, key, "GET", "/v1/organization", "")
		if w.Code != http.StatusOK {
			t.Fatalf("GET /v1/organization: %d %s", w.Code, w.Body)
		}
		return w
	}
	w := get()
	got := used()
	if len(got) != 1 {
		t.Fatalf("%d api_key.used entries after the first request, want 1", len(got))
	}
	if e := got[0].Entry; e.ObjectID != k.ID || e.Actor.ID != k.ID || e.RequestID != w.Header().Get("X-Request-Id") || e.AddressHash == "" {
		t.Errorf("entry %+v, want the key as object and actor, the request id and an address hash", e)
	}
	get()
	advance(30 * time.Second)
	get()
	if n := len(used()); n != 1 {
		t.Errorf("%d entries after three requests within a minute, want 1", n)
	}
	advance(time.Minute)
	get()
	if n := len(used()); n != 2 {
		t.Errorf("%d entries after a request a minute later, want 2", n)
	}
}
