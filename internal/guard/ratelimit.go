package guard

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"bursar/internal/errs"
)

// Class is a request budget: requests of one class spend only their own
// class's tokens, so that a flood of usage events cannot starve sign-in or
// the rest of the API.
type Class string

// The classes of requests.
const (
	ClassSignIn Class = "signin" // sign-in and session creation
	ClassAPI    Class = "api"    // every other route
	ClassEvents Class = "events" // usage ingestion, POST /v1/events
)

// signInPrefixes select the sign-in class: every route that takes a
// credential, a second factor or a token from a mail (the API's sign-in,
// its second-factor challenge, passkey sign-in, step-up, password reset
// and accepting an invitation), and the portal's sign-in pages. The rest
// of /v1/auth (one's own sessions and factors) is ordinary API traffic: a
// signed-in page reads it often, and the sign-in budget is a few requests
// a minute.
var signInPrefixes = []string{"/login", "/auth/", "/v1/sessions", "/v1/auth/login", "/v1/auth/passkey/",
	"/v1/auth/password-reset", "/v1/auth/reauthenticate", "/v1/invitations/accept", "/sso/"}

// portalSignIn are the portal's pages whose form takes a credential, a
// second factor or a token from a mail: posting them is signing in, while
// showing them (GET) is ordinary traffic, as a visitor reloads a page.
var portalSignIn = []string{"/signin", "/reset-password", "/accept-invitation"}

// ClassOf returns the class of a request; ok is false for the health
// checks, which are never limited (an orchestrator's probes must not be
// refused because a client misbehaves).
func ClassOf(method, path string) (c Class, ok bool) {
	switch {
	case path == "/healthz" || path == "/readyz":
		return "", false
	case path == "/auth" || hasAnyPrefix(path, signInPrefixes):
		return ClassSignIn, true
	case method == http.MethodPost && isPortalSignIn(path):
		return ClassSignIn, true
	case path == "/v1/events" || strings.HasPrefix(path, "/v1/events/"):
		return ClassEvents, true
	}
	return ClassAPI, true
}

// isPortalSignIn reports whether path is one of portalSignIn or below one.
func isPortalSignIn(path string) bool {
	for _, p := range portalSignIn {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Limit is a token bucket: Burst tokens at most, refilled at Requests per
// Period. The zero Limit is no limit.
type Limit struct {
	Requests int
	Period   time.Duration
	Burst    int
}

// Off reports whether l limits nothing.
func (l Limit) Off() bool { return l.Requests <= 0 }

// String writes l as ParseLimit reads it: "20/s:40", "5/m:5" or "off".
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	unit := l.Period.String()
	switch l.Period {
	case time.Second:
		unit = "s"
	case time.Minute:
		unit = "m"
	case time.Hour:
		unit = "h"
	}
	return fmt.Sprintf("%d/%s:%d", l.Requests, unit, l.Burst)
}

// ParseLimit reads "N/UNIT[:BURST]" (UNIT is s, m, h or a Go duration such
// as 10s; BURST defaults to N) or "off".
func ParseLimit(s string) (Limit, error) {
	if s == "off" {
		return Limit{}, nil
	}
	const form = "must be N/UNIT[:BURST] such as 20/s:40 or 5/m, or off"
	spec, burstText, hasBurst := strings.Cut(s, ":")
	n, unit, ok := strings.Cut(spec, "/")
	if !ok {
		return Limit{}, fmt.Errorf("%q %s", s, form)
	}
	requests, err := strconv.Atoi(n)
	if err != nil || requests < 1 || requests > maxLimitCount {
		return Limit{}, fmt.Errorf("%q: the number of requests must be an integer from 1 to %d", s, maxLimitCount)
	}
	var period time.Duration
	switch unit {
	case "s":
		period = time.Second
	case "m":
		period = time.Minute
	case "h":
		period = time.Hour
	default:
		period, err = time.ParseDuration(unit)
		if err != nil || period < time.Millisecond || period > maxLimitPeriod {
			return Limit{}, fmt.Errorf("%q: the period must be s, m, h or a duration from 1ms to 24h", s)
		}
	}
	burst := requests
	if hasBurst {
		burst, err = strconv.Atoi(burstText)
		if err != nil || burst < 1 || burst > maxLimitCount {
			return Limit{}, fmt.Errorf("%q: the burst must be an integer from 1 to %d", s, maxLimitCount)
		}
	}
	return Limit{Requests: requests, Period: period, Burst: burst}, nil
}

// rate returns the refill rate of the bucket. x/time/rate counts tokens as
// float64; that is fine for request counts, which never touch money.
func (l Limit) rate() rate.Limit {
	return rate.Limit(float64(l.Requests) / l.Period.Seconds())
}

// window is how long an empty bucket takes to fill up again: the time
// after which an idle bucket is the same as a new one.
func (l Limit) window() time.Duration {
	// In float64, as period times burst overflows int64 nanoseconds for
	// long periods and large bursts; ParseLimit's bounds keep it finite.
	return time.Duration(float64(l.Period) * float64(l.Burst) / float64(l.Requests))
}

// Bounds of a limit, which keep every derived duration far from overflow.
const (
	maxLimitCount  = 1000000
	maxLimitPeriod = 24 * time.Hour
)

// Budget is the limits of one class of requests, one per thing that is
// counted. Key and Org apply once the API key is known; Account applies to
// the account a sign-in names (see Limiter.AllowAccount).
type Budget struct {
	Address Limit
	Key     Limit
	Org     Limit
	Account Limit
}

// Limits holds the budget of every class.
type Limits struct {
	SignIn Budget
	API    Budget
	Events Budget
}

// DefaultLimits are the defaults of the serve flags. The API allows a busy
// integration 20 requests a second from one address (bursts of 40), more
// per key and organization, which may be spread over many addresses;
// ingestion allows ten times that, as usage arrives in bursts; sign-in
// allows 5 attempts a minute per address and per account, which stops
// password guessing and still forgives a typo or two.
func DefaultLimits() Limits {
	return Limits{
		SignIn: Budget{
			Address: Limit{5, time.Minute, 5},
			Account: Limit{5, time.Minute, 5},
		},
		API: Budget{
			Address: Limit{20, time.Second, 40},
			Key:     Limit{50, time.Second, 100},
			Org:     Limit{100, time.Second, 200},
		},
		Events: Budget{
			Address: Limit{200, time.Second, 400},
			Key:     Limit{500, time.Second, 1000},
			Org:     Limit{1000, time.Second, 2000},
		},
	}
}

// Budget returns the budget of a class.
func (l Limits) Budget(c Class) Budget {
	switch c {
	case ClassSignIn:
		return l.SignIn
	case ClassEvents:
		return l.Events
	}
	return l.API
}

// OrgLimit is an organization's own limit for its keys or for itself in a
// class of requests (the organization setting behind
// /v1/organization/rate-limits). Scope is "key" or "org". The rate is a
// whole number of requests per whole number of seconds: no fractions.
type OrgLimit struct {
	Class         Class  `json:"class"`
	Scope         string `json:"scope"`
	Requests      int    `json:"requests"`
	PeriodSeconds int    `json:"period_seconds"`
	Burst         int    `json:"burst"`
}

// The scopes an OrgLimit can set.
const (
	ScopeKey = "key"
	ScopeOrg = "org"
)

// Bounds of an organization's own limits: an organization may raise its
// budget, but not past what one replica can serve.
const (
	maxOrgRequests = 100000
	maxOrgPeriod   = 86400
	maxOrgBurst    = 100000
)

// ValidateOrgLimits refuses a set of organization limits that names an
// unknown class or scope, repeats one, or is out of bounds; the fields
// are named as in the request body ("limits[2].burst").
func ValidateOrgLimits(limits []OrgLimit) error {
	var f errs.Fields
	seen := map[string]bool{}
	for i, l := range limits {
		at := "limits[" + strconv.Itoa(i) + "]"
		if l.Class != ClassAPI && l.Class != ClassEvents {
			f.Add(at+".class", "must be %q or %q", ClassAPI, ClassEvents)
		}
		if l.Scope != ScopeKey && l.Scope != ScopeOrg {
			f.Add(at+".scope", "must be %q or %q", ScopeKey, ScopeOrg)
		}
		if id := string(l.Class) + "/" + l.Scope; seen[id] {
			f.Add(at, "repeats class %q scope %q", l.Class, l.Scope)
		} else {
			seen[id] = true
		}
		if l.Requests < 1 || l.Requests > maxOrgRequests {
			f.Add(at+".requests", "must be between 1 and %d", maxOrgRequests)
		}
		if l.PeriodSeconds < 1 || l.PeriodSeconds > maxOrgPeriod {
			f.Add(at+".period_seconds", "must be between 1 and %d", maxOrgPeriod)
		}
		if l.Burst < 1 || l.Burst > maxOrgBurst {
			f.Add(at+".burst", "must be between 1 and %d", maxOrgBurst)
		}
	}
	return f.Err()
}

func (l OrgLimit) limit() Limit {
	return Limit{Requests: l.Requests, Period: time.Duration(l.PeriodSeconds) * time.Second, Burst: l.Burst}
}

// LimitStore keeps the organizations' own limits.
type LimitStore interface {
	// OrgRateLimits returns the organization's limits; none is not an
	// error.
	OrgRateLimits(ctx context.Context, orgID string) ([]OrgLimit, error)
	// SetOrgRateLimits replaces the organization's limits with these.
	SetOrgRateLimits(ctx context.Context, orgID string, limits []OrgLimit, at time.Time) error
}

// orgLimitTTL is how long a replica keeps an organization's own limits
// before it reads them again: a change is in force everywhere within it.
const orgLimitTTL = 5 * time.Second

// Limiter counts requests in token buckets, one per (class, counted thing),
// in this process's memory: with N replicas a client that spreads its
// requests over all of them gets up to N times the limit. A bucket that has
// been idle long enough to be full again is dropped, so memory grows with
// the number of recently active clients, not with every client ever seen.
// A nil *Limiter limits nothing.
type Limiter struct {
	limits Limits
	store  LimitStore // nil: no organization has limits of its own
	now    func() time.Time
	// sweepEvery is how often the buckets are scanned for idle ones.
	sweepEvery time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
	orgs      map[string]orgEntry
}

type bucket struct {
	lim   *rate.Limiter
	limit Limit
	seen  time.Time
}

type orgEntry struct {
	limits  map[string]Limit // by class/scope
	fetched time.Time
}

// NewLimiter returns a limiter with the limits, reading organizations'
// own limits from store (which may be nil). now is the clock.
func NewLimiter(limits Limits, store LimitStore, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{limits: limits, store: store, now: now, sweepEvery: time.Minute,
		buckets: map[string]*bucket{}, orgs: map[string]orgEntry{}}
}

// Len returns the number of buckets held, for tests and metrics.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// ForgetOrg drops the cached limits of an organization, so that a change
// made through this replica is in force here at once.
func (l *Limiter) ForgetOrg(orgID string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.orgs, orgID)
	l.mu.Unlock()
}

// check is one bucket to spend a token from: its name in the headers, its
// key in the map and its limit.
type check struct {
	policy string
	key    string
	limit  Limit
}

// take spends one token from each bucket in turn and stops at the first
// that is empty. It sets the RateLimit-Policy and RateLimit headers for
// every bucket it looked at, following draft-ietf-httpapi-ratelimit-headers-09:
// a token bucket is described as quota q = its burst over window w = the
// seconds it takes to fill up, r the whole tokens left and t the seconds
// until it is full again. A refusal is an errs.RateLimited error and sets
// Retry-After to the seconds until one token is back.
func (l *Limiter) take(w http.ResponseWriter, checks []check) error {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	for _, c := range checks {
		if c.limit.Off() {
			continue
		}
		b := l.buckets[c.key]
		// A changed limit (an organization set its own) starts a full
		// bucket: carrying over tokens earned at the old rate would keep
		// the old limit in force for up to a window.
		if b == nil || b.limit != c.limit {
			b = &bucket{lim: rate.NewLimiter(c.limit.rate(), c.limit.Burst), limit: c.limit}
			l.buckets[c.key] = b
		}
		b.seen = now
		ok := b.lim.AllowN(now, 1)
		tokens := b.lim.TokensAt(now)
		h := w.Header()
		h.Add("RateLimit-Policy", fmt.Sprintf("%q;q=%d;w=%d", c.policy, c.limit.Burst, ceilSeconds(c.limit.window())))
		h.Add("RateLimit", fmt.Sprintf("%q;r=%d;t=%d", c.policy, max(0, int(math.Floor(tokens))),
			ceilSeconds(secondsToTokens(c.limit, float64(c.limit.Burst)-tokens))))
		if !ok {
			retry := max(1, ceilSeconds(secondsToTokens(c.limit, 1-tokens)))
			h.Set("Retry-After", strconv.Itoa(retry))
			return errs.E(errs.RateLimited, "rate_limited",
				"too many requests (%s limit %s); retry after %d seconds", c.policy, c.limit, retry)
		}
	}
	return nil
}

// secondsToTokens is how long the bucket takes to gain n tokens.
func secondsToTokens(l Limit, n float64) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(n * float64(l.Period) / float64(l.Requests))
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// sweep drops the buckets idle for longer than they take to fill up: such
// a bucket is full, exactly like the one that would replace it, so
// dropping it changes no answer. It runs at most once per sweepEvery.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.sweepEvery {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.seen) > b.limit.window() {
			delete(l.buckets, k)
		}
	}
	for id, e := range l.orgs {
		if now.Sub(e.fetched) > orgLimitTTL {
			delete(l.orgs, id)
		}
	}
}

// addressKey is what the per-address buckets count: the address, but for
// IPv6 its /64, which one subscriber usually holds whole and can pick any
// address of.
func addressKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// AllowAddress spends a token of the request's address in the budget of
// its class; the address is the one WithClientAddr resolved. Requests of no
// class (health checks) and requests without an address always pass.
func (l *Limiter) AllowAddress(w http.ResponseWriter, r *http.Request) error {
	if l == nil {
		return nil
	}
	c, ok := ClassOf(r.Method, r.URL.Path)
	if !ok {
		return nil
	}
	a, ok := ClientAddrFrom(r.Context())
	if !ok {
		return nil
	}
	lim := l.limits.Budget(c).Address
	return l.take(w, []check{{"address", string(c) + "|a|" + addressKey(a), lim}})
}

// AllowAccount spends a sign-in token of the account a sign-in attempt
// names (an e-mail address, case-folded), whatever address it comes from:
// it stops a guessing attack spread over many addresses.
func (l *Limiter) AllowAccount(w http.ResponseWriter, account string) error {
	if l == nil {
		return nil
	}
	lim := l.limits.SignIn.Account
	return l.take(w, []check{{"account", string(ClassSignIn) + "|u|" + strings.ToLower(account), lim}})
}

// AllowKey spends a token of the API key and one of its organization in
// the budget of the request's class, with the organization's own limits
// where it has set them. The API calls it right after authentication.
func (l *Limiter) AllowKey(w http.ResponseWriter, r *http.Request, keyID, orgID string) error {
	if l == nil {
		return nil
	}
	c, ok := ClassOf(r.Method, r.URL.Path)
	if !ok {
		return nil
	}
	b := l.limits.Budget(c)
	keyLimit, orgLimit := b.Key, b.Org
	own, err := l.orgLimits(r.Context(), orgID)
	if err != nil {
		return err
	}
	if v, ok := own[string(c)+"/"+ScopeKey]; ok {
		keyLimit = v
	}
	if v, ok := own[string(c)+"/"+ScopeOrg]; ok {
		orgLimit = v
	}
	return l.take(w, []check{
		{"key", string(c) + "|k|" + keyID, keyLimit},
		{"org", string(c) + "|o|" + orgID, orgLimit},
	})
}

// orgLimits returns the organization's own limits, read at most once per
// orgLimitTTL. A failed read keeps what was known before; with nothing
// known it reports the error, and the request fails as any request whose
// database is down would.
func (l *Limiter) orgLimits(ctx context.Context, orgID string) (map[string]Limit, error) {
	if l.store == nil {
		return nil, nil
	}
	now := l.now()
	l.mu.Lock()
	e, ok := l.orgs[orgID]
	l.mu.Unlock()
	if ok && now.Sub(e.fetched) <= orgLimitTTL {
		return e.limits, nil
	}
	list, err := l.store.OrgRateLimits(ctx, orgID)
	if err != nil {
		if ok {
			return e.limits, nil
		}
		return nil, fmt.Errorf("guard: read rate limits of %s: %w", orgID, err)
	}
	m := make(map[string]Limit, len(list))
	for _, ol := range list {
		m[string(ol.Class)+"/"+ol.Scope] = ol.limit()
	}
	l.mu.Lock()
	l.orgs[orgID] = orgEntry{limits: m, fetched: now}
	l.mu.Unlock()
	return m, nil
}

// Middleware refuses, with fail, a request whose address has spent its
// budget. It must run after WithClientAddr.
func (l *Limiter) Middleware(fail func(http.ResponseWriter, *http.Request, error), next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := l.AllowAddress(w, r); err != nil {
			fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
