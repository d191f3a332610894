// Package api serves Bursar's JSON API under /v1 (DESIGN.md §6): one file of
// handlers per resource, a route table in which every route declares the
// permission it needs, RFC 9457 problem documents for every error, strict
// JSON decoding, API-key authentication, idempotent POSTs, and the OpenAPI
// document that describes all of it at /v1/openapi.json.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/auth/sso"
	"bursar/internal/catalog"
	"bursar/internal/customer"
	"bursar/internal/guard"
	"bursar/internal/invoice"
	"bursar/internal/org"
	"bursar/internal/privacy"
)

// DefaultMaxBodyBytes is the request body limit when Deps sets none.
const DefaultMaxBodyBytes = 1 << 20

// Deps is what the API needs: the services and stores it calls, and the
// logger, clock and body limit it runs with.
type Deps struct {
	Orgs          org.Store
	Customers     *customer.Service
	CustomerStore customer.Store
	Catalog       *catalog.Service
	CatalogStore  catalog.Store
	Invoices      *invoice.Service
	Auth          *auth.Service
	Idempotency   IdempotencyStore
	Logger        *slog.Logger
	Now           func() time.Time
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// Limiter, if set, spends a token of the API key and one of its
	// organization as soon as the key is known (the per-address budget is
	// spent in front of the API, by the guard).
	Limiter *guard.Limiter
	// RateLimitStore keeps organizations' own rate limits, served at
	// /v1/organization/rate-limits; nil leaves those routes answering 404.
	RateLimitStore guard.LimitStore
	// IPRules manages the server's address rules, served at /v1/ip-rules;
	// nil leaves those routes answering 404.
	IPRules *guard.IPRules
	// Privacy serves customers' exports and erasures and the retention
	// periods; nil leaves those routes answering 404.
	Privacy *privacy.Service
	// ServerAdmin, if set, tells whether an organization's keys may manage
	// the settings of the whole server (address rules); nil lets every
	// organization's key with the scope do it, as on a server that one
	// business runs for itself.
	ServerAdmin func(orgID string) bool

	// Identity, if set, serves users, sign-in and sessions (/v1/auth,
	// /v1/users) and lets a session cookie stand for an API key; nil
	// leaves those routes answering 404 and the API to keys alone.
	Identity *auth.Identity
	// MFA, if set with Identity, serves second factors: the sign-in's
	// challenge, enrolment, passkey sign-in, step-up and the
	// organization's "MFA required" setting; nil leaves those routes
	// answering 404 and no user with a second factor.
	MFA *mfa.Service

	// Tokens, if set, accepts OAuth 2.0 bearer tokens (JWTs) from the
	// organizations' identity providers besides API keys; OAuthProviders
	// keeps those providers, served at /v1/organization/oauth (nil leaves
	// those routes answering 404).
	Tokens         *auth.TokenVerifier
	OAuthProviders auth.OAuthStore

	// SSO, if set, serves the organizations' single sign-on settings at
	// /v1/organization/sso (the portal runs the sign-in itself); nil
	// leaves those routes answering 404.
	SSO *sso.Service

	// Audit records every change, in the change's transaction, and every
	// refused request; required.
	Audit *audit.Log
	// ClientAddr, if set, returns the client address that the middleware
	// in front of the API resolved (behind trusted proxies); the direct
	// peer's address is used otherwise.
	ClientAddr func(ctx context.Context) (netip.Addr, bool)
}

// api is the /v1 handler.
type api struct {
	Deps
	routes []route
	mux    *http.ServeMux
	zones  timeZones
	bodies invoiceBodies
}

// New returns the handler of every /v1 route.
func New(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if d.Audit == nil {
		panic("api: Deps.Audit is required: every change must be audited") // a wiring error
	}
	a := &api{Deps: d, mux: http.NewServeMux()}
	a.routes = append(append(a.routeTable(), a.identityRoutes()...), a.mfaRoutes()...)
	for _, rt := range a.routes {
		if err := rt.check(); err != nil {
			panic(err) // a programming error, caught by every test
		}
		a.mux.Handle(rt.method+" "+rt.pattern, a.handle(rt))
	}
	return a
}

// ServeHTTP gives the request an identifier and routes it; a path that no
// route serves gets a 404 problem, a method that its path does not take a
// 405 problem, where the bare ServeMux would answer in plain text.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = withRequestID(w, r, a.Now)
	// A path that is not in canonical form would get a redirect from the
	// mux; no route has one, so it is simply not found.
	canonical := path.Clean(r.URL.Path) == r.URL.Path
	if _, pattern := a.mux.Handler(r); pattern == "" || !canonical {
		if allowed := a.allowedMethods(r); canonical && len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			a.fail(w, r, errMethodNotAllowed(r.Method))
			return
		}
		a.fail(w, r, errNoRoute(r.URL.Path))
		return
	}
	a.mux.ServeHTTP(w, r)
}

// allowedMethods lists the methods that some route takes on r's path.
func (a *api) allowedMethods(r *http.Request) []string {
	var out []string
	for _, rt := range a.routes {
		if slices.Contains(out, rt.method) {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = rt.method
		if _, pattern := a.mux.Handler(probe); pattern != "" {
			out = append(out, rt.method)
		}
	}
	slices.Sort(out)
	return out
}
