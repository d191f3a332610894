package api_test

import (
	"net/http"
	"testing"

	"bursar/internal/api"
	"bursar/internal/guard"
	"bursar/internal/store/sqlstore"
)

// withGuard serves the address rules and the organizations' own rate
// limits from the env's store. The rate limits themselves stay off: the
// tests make many requests.
func withGuard(d *api.Deps) {
	st := d.Idempotency.(*sqlstore.Store)
	d.IPRules = &guard.IPRules{Store: st, Now: d.Now}
	d.RateLimitStore = st
}

// A key's and its organization's budgets are spent right after
// authentication; the refusal is a 429 problem with Retry-After and the
// RateLimit headers, and an organization's own limit replaces the default.
func TestKeyRateLimit(t *testing.T) {
	t.Parallel()
	limits := guard.DefaultLimits()
	limits.API.Key = guard.Limit{Requests: 2, Period: 60e9, Burst: 2}
	var lim *guard.Limiter
	e := newEnv(t, withGuard, func(d *api.Deps) {
		lim = guard.NewLimiter(limits, d.RateLimitStore, d.Now)
		d.Limiter = lim
	})
	a := e.tenant("Acme")
	a.must(200, "GET", "/v1/organization", nil)
	a.must(200, "GET", "/v1/organization", nil)
	r := a.do("GET", "/v1/organization", nil)
	if p := r.problem(t); r.status != http.StatusTooManyRequests || p.Code != "rate_limited" {
		t.Fatalf("%v, want 429 rate_limited", r)
	}
	if got := r.header.Get("Retry-After"); got != "30" {
		t.Errorf("Retry-After = %q, want 30", got)
	}
	if got := r.header.Values("RateLimit-Policy"); len(got) != 1 || got[0] != `"key";q=2;w=60` {
		t.Errorf("RateLimit-Policy = %q, want the key's policy", got)
	}
	// Another key of the organization has its own budget; then the
	// organization raises its keys' limit for itself.
	b := a.with(e.key(a.org.ID, "*"))
	b.must(200, "PUT", "/v1/organization/rate-limits", map[string]any{"limits": []any{
		map[string]any{"class": "api", "scope": "key", "requests": 100, "period_seconds": 1, "burst": 100}}})
	a.must(200, "GET", "/v1/organization", nil)
}

// Changes of the address rules and of an organization's limits are in the
// audit log of the organization whose key made them.
func TestGuardChangesAreAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withGuard)
	a := e.tenant("Acme")
	rule := a.must(201, "POST", "/v1/ip-rules", map[string]any{"action": "deny", "cidr": "203.0.113.0/24"})["id"].(string)
	a.must(200, "DELETE", "/v1/ip-rules/"+rule, nil)
	a.must(200, "PUT", "/v1/organization/rate-limits", map[string]any{"limits": []any{
		map[string]any{"class": "events", "scope": "org", "requests": 600, "period_seconds": 60, "burst": 100}}})
	for _, action := range []string{"ip_rule.created", "ip_rule.deleted", "organization.rate_limits_updated"} {
		l := a.must(200, "GET", "/v1/audit-events?action="+action, nil)["data"].([]any)
		if len(l) != 1 {
			t.Errorf("audit events %s: %d, want 1", action, len(l))
		}
	}
}
