package guard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar/internal/errs"
)

// ruleStore is an in-memory RuleStore shared by the "replicas" of a test.
type ruleStore struct {
	mu    sync.Mutex
	rules []*IPRule
	fail  error
}

func (s *ruleStore) InsertIPRule(_ context.Context, r *IPRule) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *r
	s.rules = append(s.rules, &c)
	return nil
}

func (s *ruleStore) ListIPRules(context.Context) ([]*IPRule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	return slices.Clone(s.rules), nil
}

func (s *ruleStore) DeleteIPRule(_ context.Context, id string) (*IPRule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rules {
		if r.ID == id {
			s.rules = slices.Delete(s.rules, i, i+1)
			return r, nil
		}
	}
	return nil, errs.NotFoundf("IP rule", id)
}

func admits(t *testing.T, s *IPRules, addr string) bool {
	t.Helper()
	return s.Admits(context.Background(), netip.MustParseAddr(addr))
}

func TestDenyWinsAndAllowListAdmitsOnlyItsNetworks(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := &IPRules{Store: &ruleStore{}, Now: clk.now}
	if !admits(t, s, "203.0.113.7") {
		t.Fatal("no rules: an address was refused")
	}
	if _, err := s.Add(ctx, Deny, "203.0.113.0/24", "scanner", "test", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, Deny, "2001:db8:bad::/48", "", "test", nil); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"203.0.113.7": false, "::ffff:203.0.113.7": false, "203.0.114.1": true,
		"2001:db8:bad::1": false, "2001:db8:900d::1": true,
	} {
		if got := admits(t, s, addr); got != want {
			t.Errorf("deny list: admits(%s) = %v, want %v", addr, got, want)
		}
	}
	// An allow list admits only its networks; deny still wins inside it.
	if _, err := s.Add(ctx, Allow, "203.0.0.0/16", "office", "test", nil); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"203.0.5.5": true, "203.0.113.7": false, "198.51.100.1": false, "2001:db8:900d::1": false,
	} {
		if got := admits(t, s, addr); got != want {
			t.Errorf("allow list: admits(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestExpiredRulesAreIgnored(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := &IPRules{Store: &ruleStore{}, Now: clk.now}
	until := clk.now().Add(time.Hour)
	if _, err := s.Add(ctx, Deny, "198.51.100.9", "", "test", &until); err != nil {
		t.Fatal(err)
	}
	if admits(t, s, "198.51.100.9") {
		t.Error("an address denied for an hour was admitted")
	}
	clk.advance(time.Hour)
	if !admits(t, s, "198.51.100.9") {
		t.Error("an expired deny rule still refuses")
	}
}

// A change made through one replica is in force on another within the TTL,
// and not before it: the other replica uses its copy until then.
func TestAnotherReplicaSeesAChangeWithinTheTTL(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := &ruleStore{}
	a := &IPRules{Store: store, Now: clk.now}
	b := &IPRules{Store: store, Now: clk.now}
	if !admits(t, b, "203.0.113.7") {
		t.Fatal("no rules yet: refused")
	}
	r, err := a.Add(ctx, Deny, "203.0.113.0/24", "", "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if admits(t, a, "203.0.113.7") != false {
		t.Error("the replica that made the rule does not apply it at once")
	}
	if !admits(t, b, "203.0.113.7") {
		t.Error("the other replica read the rules before its copy was stale")
	}
	clk.advance(DefaultRuleTTL)
	if admits(t, b, "203.0.113.7") {
		t.Error("the other replica still admits the address after the TTL")
	}
	// A database outage keeps the block.
	store.mu.Lock()
	store.fail = errors.New("database down")
	store.mu.Unlock()
	clk.advance(DefaultRuleTTL)
	if admits(t, b, "203.0.113.7") {
		t.Error("a failed read of the rules lifted the block")
	}
	store.mu.Lock()
	store.fail = nil
	store.mu.Unlock()
	if _, err := a.Remove(ctx, r.ID, "test"); err != nil {
		t.Fatal(err)
	}
	clk.advance(DefaultRuleTTL)
	if !admits(t, b, "203.0.113.7") {
		t.Error("a removed rule still refuses after the TTL")
	}
}

func TestAddRefusesBadInputNamingTheField(t *testing.T) {
	clk := newClock()
	s := &IPRules{Store: &ruleStore{}, Now: clk.now}
	past := clk.now().Add(-time.Minute)
	tests := []struct {
		action  Action
		cidr    string
		note    string
		by      string
		expires *time.Time
		field   string
	}{
		{"block", "203.0.113.0/24", "", "t", nil, "action"},
		{Deny, "203.0.113.0/33", "", "t", nil, "cidr"},
		{Deny, "evil.example", "", "t", nil, "cidr"},
		{Deny, "203.0.113.0/24", strings.Repeat("x", 501), "t", nil, "note"},
		{Deny, "203.0.113.0/24", "", "t", &past, "expires_at"},
		{Deny, "203.0.113.0/24", "", "", nil, "created_by"},
	}
	for _, tt := range tests {
		_, err := s.Add(context.Background(), tt.action, tt.cidr, tt.note, tt.by, tt.expires)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != tt.field {
			t.Errorf("Add(%q, %q): err = %v, want one invalid field %s", tt.action, tt.cidr, err, tt.field)
		}
	}
	r, err := s.Add(context.Background(), Deny, "203.0.113.77/24", "", "t", nil)
	if err != nil || r.CIDR != "203.0.113.0/24" {
		t.Errorf("Add stored CIDR %v (%v), want the masked 203.0.113.0/24", r, err)
	}
}

func TestChangesReachTheHookWithWhoDidIt(t *testing.T) {
	var got []string
	s := &IPRules{Store: &ruleStore{}, Now: newClock().now, OnChange: func(_ context.Context, c RuleChange) {
		got = append(got, fmt.Sprintf("%s %s %s by %s", c.Op, c.Rule.Action, c.Rule.CIDR, c.By))
	}}
	r, err := s.Add(context.Background(), Deny, "192.0.2.1", "", "cli:alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(context.Background(), r.ID, "api_key:key_1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"add deny 192.0.2.1/32 by cli:alice", "remove deny 192.0.2.1/32 by api_key:key_1"}
	if !slices.Equal(got, want) {
		t.Errorf("hook saw %q, want %q", got, want)
	}
	if _, err := s.Remove(context.Background(), r.ID, "x"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("removing a removed rule: err = %v, want not found", err)
	}
}

func TestMiddlewareRefusesDeniedAddressesButNotHealthChecks(t *testing.T) {
	s := &IPRules{Store: &ruleStore{}, Now: newClock().now}
	if _, err := s.Add(context.Background(), Deny, "198.51.100.0/24", "", "t", nil); err != nil {
		t.Fatal(err)
	}
	var failed error
	h := s.Middleware(func(w http.ResponseWriter, r *http.Request, err error) {
		failed = err
		w.WriteHeader(http.StatusForbidden)
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for path, want := range map[string]int{"/v1/invoices": 403, "/healthz": 204, "/readyz": 204, "/": 403} {
		failed = nil
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request("GET", path, "198.51.100.20"))
		if w.Code != want {
			t.Errorf("GET %s from a denied address: status %d, want %d", path, w.Code, want)
		}
		if want == 403 && (errs.KindOf(failed) != errs.Forbidden || errs.CodeOf(failed) != "address_denied") {
			t.Errorf("GET %s: refused with %v, want address_denied", path, failed)
		}
	}
}
