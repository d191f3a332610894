package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"bursar/internal/api"
	"bursar/internal/errs"
	"bursar/internal/guard"
)

// GuardConfig holds the settings of the guard that this package wires:
// who is the client behind proxies, rate limits, address rules, body
// limits and timeouts. (The WAF's settings are in Config.) Zero values mean
// the defaults.
type GuardConfig struct {
	// TrustedProxies are the proxies whose X-Forwarded-For and Forwarded
	// headers are believed; none by default.
	TrustedProxies guard.TrustedProxies
	// RateLimits are the budgets; the zero value means
	// guard.DefaultLimits. DisableRateLimits turns every rate limit off,
	// for benchmarks and tests that make many requests from one address.
	RateLimits        *guard.Limits
	DisableRateLimits bool
	// BodyLimits bound request bodies per class of route.
	BodyLimits BodyLimits
	// Timeouts bound how long a client may take; see Timeouts.
	Timeouts Timeouts
	// AdminOrg, if set, is the only organization whose API keys may manage
	// the address rules; empty lets any organization's key with the scope.
	AdminOrg string
	// OnIPRuleChange, if set, is told of every change of the address
	// rules (the audit log's hook).
	OnIPRuleChange func(ctx context.Context, c guard.RuleChange)
}

// BodyLimits are the largest request bodies, in bytes, per class of route.
type BodyLimits struct {
	Default int64 // every route not below; 0 means 1 MiB
	Events  int64 // usage ingestion, /v1/events; 0 means 10 MiB
	SignIn  int64 // sign-in routes; 0 means 64 KiB
}

// The default body limits: a billing document is small; a batch of usage
// events is not; a sign-in form is tiny, and a large one is an attack.
const (
	DefaultBodyBytes       = 1 << 20
	DefaultEventsBodyBytes = 10 << 20
	DefaultSignInBodyBytes = 64 << 10
)

func (b BodyLimits) withDefaults() BodyLimits {
	if b.Default <= 0 {
		b.Default = DefaultBodyBytes
	}
	if b.Events <= 0 {
		b.Events = DefaultEventsBodyBytes
	}
	if b.SignIn <= 0 {
		b.SignIn = DefaultSignInBodyBytes
	}
	return b
}

// of returns the limit of a request.
func (b BodyLimits) of(method, path string) int64 {
	c, _ := guard.ClassOf(method, path)
	switch c {
	case guard.ClassEvents:
		return b.Events
	case guard.ClassSignIn:
		return b.SignIn
	}
	return b.Default
}

// largest is the largest limit, which the handlers behind bodyLimit are
// given so that they never cut a body shorter than its class allows.
func (b BodyLimits) largest() int64 { return max(b.Default, b.Events, b.SignIn) }

// Timeouts bound the phases of a connection, against clients that are
// slow on purpose (slowloris) or by accident.
type Timeouts struct {
	ReadHeader time.Duration // the request line and headers; 0 means 5s
	Read       time.Duration // the whole request, body included; 0 means 30s
	Write      time.Duration // from the end of the headers to the end of the answer; 0 means 60s
	Idle       time.Duration // between requests on a kept-alive connection; 0 means 120s
}

func (t Timeouts) withDefaults() Timeouts {
	if t.ReadHeader <= 0 {
		t.ReadHeader = 5 * time.Second
	}
	if t.Read <= 0 {
		t.Read = 30 * time.Second
	}
	if t.Write <= 0 {
		t.Write = 60 * time.Second
	}
	if t.Idle <= 0 {
		t.Idle = 120 * time.Second
	}
	return t
}

// guardParts are what the guard adds to the API's dependencies.
type guardParts struct {
	limiter *guard.Limiter // nil when rate limits are off
	rules   *guard.IPRules
	admin   func(orgID string) bool // nil: every organization
}

func newGuardParts(cfg GuardConfig, store Store, log *slog.Logger, now func() time.Time) guardParts {
	var p guardParts
	if !cfg.DisableRateLimits {
		limits := guard.DefaultLimits()
		if cfg.RateLimits != nil {
			limits = *cfg.RateLimits
		}
		p.limiter = guard.NewLimiter(limits, store, now)
	}
	p.rules = &guard.IPRules{Store: store, Now: now, Logger: log, OnChange: cfg.OnIPRuleChange}
	if cfg.AdminOrg != "" {
		p.admin = func(orgID string) bool { return orgID == cfg.AdminOrg }
	}
	return p
}

// wrap puts the guard in front of next, in the order that makes each
// refusal cheapest: resolve the client address once; refuse denied
// addresses before they cost anything; spend the address's rate budget;
// bound the body before anything reads it.
func (p guardParts) wrap(cfg GuardConfig, next http.Handler) http.Handler {
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		api.WriteProblem(w, r, asProblem(err))
	}
	h := bodyLimit(cfg.BodyLimits.withDefaults(), fail, next)
	h = p.limiter.Middleware(fail, h)
	h = p.rules.Middleware(fail, h)
	return guard.WithClientAddr(cfg.TrustedProxies, h)
}

// asProblem keeps the guard's errors as they are and hides anything else
// behind a generic internal error, as the API does.
func asProblem(err error) *errs.Error {
	if e, ok := err.(*errs.Error); ok {
		return e
	}
	return errs.E(errs.Internal, "internal_error", "an internal error occurred; quote the request id when you report it")
}

// bodyLimit refuses a request whose declared body is larger than its
// class allows with a 413 problem, and cuts off one that grows past it
// while it is read (the handlers answer 413 when they meet the cut).
func bodyLimit(b BodyLimits, fail func(http.ResponseWriter, *http.Request, error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := b.of(r.Method, r.URL.Path)
		if r.ContentLength > limit {
			fail(w, r, errs.E(errs.TooLarge, "request_too_large", "the request body is larger than %d bytes", limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}
