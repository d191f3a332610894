package server

import (
	"net/http"
	"strings"
)

// The Content-Security-Policy of every answer, in one place (issue 3 §6).
// Neither allows inline script or style, nor framing, nor a <base> that
// would turn relative URLs elsewhere.
const (
	// APIContentSecurityPolicy covers the JSON API, the health checks and
	// anything else that is not a page: nothing an answer could load or
	// run is allowed, so a response that a browser is tricked into
	// rendering can do nothing.
	APIContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	// PortalContentSecurityPolicy covers the portal's pages: their own
	// scripts, styles and images from the same origin, never inline (no
	// 'unsafe-inline', no 'unsafe-eval').
	PortalContentSecurityPolicy = "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	// SSOPageContentSecurityPolicy covers the single sign-on pages alone
	// (/sso, and /sso/start, where the link members are given shows the
	// same form): the portal's policy without form-action. Their one form
	// posts to /sso/start, which redirects to the organization's identity
	// provider,
	// and browsers apply form-action to every redirect of a form's
	// navigation, so 'self' stops the sign-in there; the provider is not
	// known until the organization ID is submitted, so no source list could
	// name it. The page echoes nothing but its own escaped field, and
	// every other page keeps form-action 'self'.
	SSOPageContentSecurityPolicy = "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
)

// hstsValue asks browsers to use HTTPS only for two years, on every sub
// domain too; it is sent only when the server itself speaks TLS, as a
// browser ignores it over plain HTTP and a proxy in front must send its own.
const hstsValue = "max-age=63072000; includeSubDomains"

// contentSecurityPolicy chooses the policy of a path: the API's for the
// machine-facing paths, the portal's for every other path (the portal's
// pages and their static files).
func contentSecurityPolicy(path string) string {
	if strings.HasPrefix(path, "/v1/") || path == "/v1" || path == "/healthz" || path == "/readyz" {
		return APIContentSecurityPolicy
	}
	if path == "/sso" || path == "/sso/start" {
		return SSOPageContentSecurityPolicy
	}
	return PortalContentSecurityPolicy
}

// securityHeaders sets the security headers of every answer before next
// runs, so that whatever answers (a handler, a problem document, the WAF, a
// rate limit, a 404, the panic handler) sends them. It stands outermost.
//
// Cache-Control defaults to no-store: almost every answer is authenticated
// or about a request that was; a handler that serves something cacheable
// (the portal's static files) sets its own.
//
// Referrer-Policy is no-referrer rather than strict-origin-when-cross-origin:
// the portal's and the hosted invoice pages' URLs carry identifiers and
// tokens (/i/{token}) that must not leak to another site through a link,
// and nothing in Bursar needs the referrer.
//
// The values are built once and shared by every answer (the keys are
// already canonical): a handler that changes a header sets or adds its own
// slice, and nothing writes into a header's slice in place.
func securityHeaders(tls bool, next http.Handler) http.Handler {
	csp := map[string][]string{
		APIContentSecurityPolicy:     {APIContentSecurityPolicy},
		PortalContentSecurityPolicy:  {PortalContentSecurityPolicy},
		SSOPageContentSecurityPolicy: {SSOPageContentSecurityPolicy},
	}
	var (
		nosniff    = []string{"nosniff"}
		noReferrer = []string{"no-referrer"}
		deny       = []string{"DENY"} // for browsers that ignore frame-ancestors
		sameOrigin = []string{"same-origin"}
		noStore    = []string{"no-store"}
		hsts       = []string{hstsValue}
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Security-Policy"] = csp[contentSecurityPolicy(r.URL.Path)]
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = noReferrer
		h["X-Frame-Options"] = deny
		h["Cross-Origin-Opener-Policy"] = sameOrigin
		h["Cache-Control"] = noStore
		if tls {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}
