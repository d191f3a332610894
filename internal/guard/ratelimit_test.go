package guard

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar/internal/errs"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// request makes a request from addr to path that has passed WithClientAddr.
func request(method, path, addr string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	a := netip.MustParseAddr(addr)
	return r.WithContext(context.WithValue(r.Context(), clientAddrKey, a))
}

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want Limit
		bad  bool
	}{
		{in: "20/s:40", want: Limit{20, time.Second, 40}},
		{in: "5/m", want: Limit{5, time.Minute, 5}},
		{in: "100/h:1", want: Limit{100, time.Hour, 1}},
		{in: "3/10s:6", want: Limit{3, 10 * time.Second, 6}},
		{in: "off", want: Limit{}},
		{in: "20", bad: true},
		{in: "0/s", bad: true},
		{in: "-1/s", bad: true},
		{in: "1.5/s", bad: true},
		{in: "20/fortnight", bad: true},
		{in: "20/s:0", bad: true},
		{in: "20/s:x", bad: true},
		{in: "20/0s", bad: true},
		{in: "1000001/s", bad: true},
		{in: "1/s:1000001", bad: true},
		{in: "1/25h", bad: true},
		{in: "1000000/24h:1000000", want: Limit{1000000, 24 * time.Hour, 1000000}},
	}
	for _, tt := range tests {
		got, err := ParseLimit(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseLimit(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if back, _ := ParseLimit(got.String()); back != got {
			t.Errorf("ParseLimit(%q.String() = %q) = %v, want the same limit", tt.in, got.String(), back)
		}
	}
}

func TestClassOf(t *testing.T) {
	tests := []struct {
		method, path string
		want         Class
		ok           bool
	}{
		{"GET", "/healthz", "", false},
		{"GET", "/readyz", "", false},
		{"GET", "/v1/invoices", ClassAPI, true},
		{"GET", "/v1/events", ClassEvents, true},
		{"GET", "/v1/events/batch", ClassEvents, true},
		{"GET", "/v1/eventsx", ClassAPI, true},
		{"GET", "/v1/sessions", ClassSignIn, true},
		{"GET", "/login", ClassSignIn, true},
		{"GET", "/auth/oidc/callback", ClassSignIn, true},
		{"GET", "/authors", ClassAPI, true},
		{"GET", "/v1/auth/login", ClassSignIn, true},
		{"GET", "/v1/auth/login/totp", ClassSignIn, true},
		{"GET", "/v1/auth/login/passkey/finish", ClassSignIn, true},
		{"GET", "/v1/auth/passkey/begin", ClassSignIn, true},
		{"GET", "/v1/auth/password-reset", ClassSignIn, true},
		{"GET", "/v1/auth/password-reset/confirm", ClassSignIn, true},
		{"GET", "/v1/auth/reauthenticate", ClassSignIn, true},
		{"GET", "/v1/invitations/accept", ClassSignIn, true},
		{"GET", "/v1/invitations", ClassAPI, true},
		{"GET", "/v1/auth/session", ClassAPI, true},
		{"GET", "/v1/auth/mfa/passkeys", ClassAPI, true},
		{"GET", "/i/tok", ClassAPI, true},
		// The portal: posting a credential is signing in, showing the page
		// is not.
		{"POST", "/signin", ClassSignIn, true},
		{"POST", "/signin/mfa", ClassSignIn, true},
		{"POST", "/signin/passkey/options", ClassSignIn, true},
		{"POST", "/reset-password", ClassSignIn, true},
		{"POST", "/reset-password/confirm", ClassSignIn, true},
		{"POST", "/accept-invitation", ClassSignIn, true},
		{"GET", "/signin", ClassAPI, true},
		{"GET", "/reset-password", ClassAPI, true},
		{"GET", "/accept-invitation", ClassAPI, true},
		{"POST", "/signout", ClassAPI, true},
		{"POST", "/signing", ClassAPI, true},
		{"POST", "/sessions/revoke-all", ClassAPI, true},
		{"GET", "/sso/start", ClassSignIn, true},
		{"GET", "/sso/callback", ClassSignIn, true},
	}
	for _, tt := range tests {
		if got, ok := ClassOf(tt.method, tt.path); got != tt.want || ok != tt.ok {
			t.Errorf("ClassOf(%s %q) = %q, %v; want %q, %v", tt.method, tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAddressLimitRefusesWithHeaders(t *testing.T) {
	clk := newClock()
	l := NewLimiter(DefaultLimits(), nil, clk.now)
	for i := range 40 {
		w := httptest.NewRecorder()
		if err := l.AllowAddress(w, request("GET", "/v1/invoices", "198.51.100.1")); err != nil {
			t.Fatalf("request %d refused: %v", i+1, err)
		}
		if i == 0 {
			if got, want := w.Header().Get("RateLimit-Policy"), `"address";q=40;w=2`; got != want {
				t.Errorf("RateLimit-Policy = %q, want %q", got, want)
			}
			if got, want := w.Header().Get("RateLimit"), `"address";r=39;t=1`; got != want {
				t.Errorf("RateLimit = %q, want %q", got, want)
			}
		}
	}
	w := httptest.NewRecorder()
	err := l.AllowAddress(w, request("GET", "/v1/invoices", "198.51.100.1"))
	if errs.KindOf(err) != errs.RateLimited || errs.CodeOf(err) != "rate_limited" {
		t.Fatalf("41st request: err = %v, want rate_limited", err)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if got := w.Header().Get("RateLimit"); !strings.Contains(got, "r=0") {
		t.Errorf("RateLimit = %q, want r=0", got)
	}
	// Another address, another class and the health checks are unaffected.
	for _, r := range []*http.Request{
		request("GET", "/v1/invoices", "198.51.100.2"),
		request("POST", "/v1/events", "198.51.100.1"),
		request("GET", "/healthz", "198.51.100.1"),
	} {
		if err := l.AllowAddress(httptest.NewRecorder(), r); err != nil {
			t.Errorf("%s %s from another bucket refused: %v", r.Method, r.URL.Path, err)
		}
	}
	// A twentieth of a second later one token is back.
	clk.advance(50 * time.Millisecond)
	if err := l.AllowAddress(httptest.NewRecorder(), request("GET", "/v1/invoices", "198.51.100.1")); err != nil {
		t.Errorf("after the refill: %v", err)
	}
}

func TestSignInLimitPerAddressAndAccount(t *testing.T) {
	clk := newClock()
	l := NewLimiter(DefaultLimits(), nil, clk.now)
	for i := range 5 {
		if err := l.AllowAddress(httptest.NewRecorder(), request("POST", "/v1/sessions", "198.51.100.1")); err != nil {
			t.Fatalf("sign-in %d refused: %v", i+1, err)
		}
	}
	w := httptest.NewRecorder()
	if err := l.AllowAddress(w, request("POST", "/v1/sessions", "198.51.100.1")); errs.KindOf(err) != errs.RateLimited {
		t.Fatalf("6th sign-in in a minute: err = %v, want rate_limited", err)
	}
	if got := w.Header().Get("Retry-After"); got != "12" {
		t.Errorf("Retry-After = %q, want 12 (one token of 5 a minute)", got)
	}
	// The API budget of the same address is untouched.
	if err := l.AllowAddress(httptest.NewRecorder(), request("GET", "/v1/invoices", "198.51.100.1")); err != nil {
		t.Errorf("API request after sign-ins refused: %v", err)
	}
	// Per account, whatever the address and the case of the name.
	for i := range 5 {
		if err := l.AllowAccount(httptest.NewRecorder(), "owner@example.com"); err != nil {
			t.Fatalf("account attempt %d refused: %v", i+1, err)
		}
	}
	if err := l.AllowAccount(httptest.NewRecorder(), "OWNER@example.com"); errs.KindOf(err) != errs.RateLimited {
		t.Errorf("6th attempt on one account: err = %v, want rate_limited", err)
	}
}

func TestIPv6AddressesShareTheirSlash64(t *testing.T) {
	lim := DefaultLimits()
	lim.API.Address = Limit{1, time.Minute, 1}
	l := NewLimiter(lim, nil, newClock().now)
	if err := l.AllowAddress(httptest.NewRecorder(), request("GET", "/v1/x", "2001:db8:1:2::1")); err != nil {
		t.Fatal(err)
	}
	if err := l.AllowAddress(httptest.NewRecorder(), request("GET", "/v1/x", "2001:db8:1:2::ffff")); err == nil {
		t.Error("a second address of the same /64 got a fresh budget")
	}
	if err := l.AllowAddress(httptest.NewRecorder(), request("GET", "/v1/x", "2001:db8:1:3::1")); err != nil {
		t.Errorf("another /64 refused: %v", err)
	}
}

// limitStore is an in-memory LimitStore that counts its reads.
type limitStore struct {
	mu     sync.Mutex
	limits map[string][]OrgLimit
	reads  int
}

func (s *limitStore) OrgRateLimits(_ context.Context, orgID string) ([]OrgLimit, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return s.limits[orgID], nil
}

func (s *limitStore) SetOrgRateLimits(_ context.Context, orgID string, l []OrgLimit, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[orgID] = l
	return nil
}

func TestKeyAndOrgLimitsWithTheOrganizationsOwn(t *testing.T) {
	clk := newClock()
	store := &limitStore{limits: map[string][]OrgLimit{
		"org_small": {{Class: ClassAPI, Scope: ScopeOrg, Requests: 3, PeriodSeconds: 60, Burst: 3}},
	}}
	l := NewLimiter(DefaultLimits(), store, clk.now)
	allow := func(key, org string) error {
		return l.AllowKey(httptest.NewRecorder(), request("GET", "/v1/invoices", "198.51.100.1"), key, org)
	}
	// Two keys of the small organization share its 3 requests.
	for i, key := range []string{"key_a", "key_b", "key_a"} {
		if err := allow(key, "org_small"); err != nil {
			t.Fatalf("request %d refused: %v", i+1, err)
		}
	}
	if err := allow("key_b", "org_small"); errs.KindOf(err) != errs.RateLimited {
		t.Fatalf("4th request of the organization: err = %v, want rate_limited", err)
	}
	if store.reads != 1 {
		t.Errorf("the organization's limits were read %d times in one TTL, want 1", store.reads)
	}
	// Another organization has the default key limit: 100 in a burst.
	for i := range 100 {
		if err := allow("key_c", "org_big"); err != nil {
			t.Fatalf("default key budget: request %d refused: %v", i+1, err)
		}
	}
	if err := allow("key_c", "org_big"); errs.KindOf(err) != errs.RateLimited {
		t.Errorf("101st request of one key: err = %v, want rate_limited", err)
	}
	// A raised limit is in force within the TTL, on the existing bucket.
	_ = store.SetOrgRateLimits(context.Background(), "org_small",
		[]OrgLimit{{Class: ClassAPI, Scope: ScopeOrg, Requests: 1000, PeriodSeconds: 1, Burst: 1000}}, clk.now())
	clk.advance(orgLimitTTL + time.Second)
	if err := allow("key_b", "org_small"); err != nil {
		t.Errorf("after raising the organization's limit: %v", err)
	}
}

func TestIdleBucketsAreEvicted(t *testing.T) {
	clk := newClock()
	l := NewLimiter(DefaultLimits(), nil, clk.now)
	for i := range 5000 {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if err := l.AllowAddress(httptest.NewRecorder(), request("GET", "/v1/invoices", addr.String())); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Len(); got != 5000 {
		t.Fatalf("Len = %d after 5000 addresses, want 5000", got)
	}
	// A busy client keeps its bucket (and its spent tokens) through the
	// sweep; the idle ones go.
	busy := request("GET", "/v1/invoices", "198.51.100.9")
	for range 40 {
		_ = l.AllowAddress(httptest.NewRecorder(), busy)
	}
	clk.advance(l.sweepEvery + time.Second)
	if err := l.AllowAddress(httptest.NewRecorder(), busy); err != nil {
		t.Fatalf("busy client after a minute: %v", err)
	}
	if got := l.Len(); got != 1 {
		t.Errorf("Len = %d after the sweep, want 1 (only the busy client)", got)
	}
}

func TestValidateOrgLimitsNamesTheField(t *testing.T) {
	err := ValidateOrgLimits([]OrgLimit{
		{Class: ClassAPI, Scope: ScopeKey, Requests: 10, PeriodSeconds: 1, Burst: 20},
		{Class: "signin", Scope: ScopeKey, Requests: 0, PeriodSeconds: 1, Burst: 1},
		{Class: ClassAPI, Scope: ScopeKey, Requests: 1, PeriodSeconds: 1, Burst: 1},
	})
	msg := fmt.Sprint(err)
	for _, want := range []string{"limits[1].class", "limits[1].requests", "limits[2]: repeats"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}
}

func TestNilLimiterAllowsEverything(t *testing.T) {
	var l *Limiter
	r := request("GET", "/v1/invoices", "198.51.100.1")
	if l.AllowAddress(httptest.NewRecorder(), r) != nil || l.AllowKey(httptest.NewRecorder(), r, "k", "o") != nil ||
		l.AllowAccount(httptest.NewRecorder(), "a") != nil {
		t.Error("a nil limiter refused a request")
	}
}
