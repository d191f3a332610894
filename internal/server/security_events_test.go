package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bursar/internal/audit"
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
