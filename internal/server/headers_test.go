package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"bursar/internal/server"
)

// Every answer carries the security headers (issue 3 §6): a normal answer,
// a problem document, the WAF's refusal, a 404 inside and outside /v1, a
// 401 and the health check. HSTS only when the server speaks TLS.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	plain, key, _ := guardedServer(t, server.Config{})
	withTLS, tlsKey, _ := guardedServer(t, server.Config{TLS: server.TLSConfig{CertFile: "unused.pem", KeyFile: "unused.key"}})
	cases := []struct {
		name, key, target string
		status            int
		csp               string
	}{
		{"normal answer", "key", "/v1/organization", 200, server.APIContentSecurityPolicy},
		{"problem document", "key", "/v1/invoices/inv_nope", 404, server.APIContentSecurityPolicy},
		{"unauthenticated", "", "/v1/organization", 401, server.APIContentSecurityPolicy},
		{"WAF block", "", "/v1/invoices?status=" + url.QueryEscape(injection), 403, server.APIContentSecurityPolicy},
		{"API 404", "key", "/v1/nowhere", 404, server.APIContentSecurityPolicy},
		{"404 outside the API", "", "/nowhere", 404, server.PortalContentSecurityPolicy},
		{"single sign-on page", "", "/sso", 200, server.SSOPageContentSecurityPolicy},
		{"single sign-on link", "", "/sso/start", 200, server.SSOPageContentSecurityPolicy},
		{"health check", "", "/healthz", 200, server.APIContentSecurityPolicy},
	}
	for _, srv := range []struct {
		name string
		h    http.Handler
		key  string
		hsts bool
	}{{"plain HTTP", plain, key, false}, {"TLS", withTLS, tlsKey, true}} {
		for _, tc := range cases {
			k := ""
			if tc.key != "" {
				k = srv.key
			}
			w := call(srv.h, k, "GET", tc.target, "")
			if w.Code != tc.status {
				t.Errorf("%s, %s: status %d, want %d (%s)", srv.name, tc.name, w.Code, tc.status, w.Body)
			}
			want := map[string]string{
				"Content-Security-Policy": tc.csp,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
				"Cache-Control":           "no-store",
			}
			for h, v := range want {
				if got := w.Header().Values(h); len(got) != 1 || got[0] != v {
					t.Errorf("%s, %s: %s = %q, want %q", srv.name, tc.name, h, got, v)
				}
			}
			hsts := w.Header().Get("Strict-Transport-Security")
			switch {
			case srv.hsts && hsts != "max-age=63072000; includeSubDomains":
				t.Errorf("%s, %s: Strict-Transport-Security = %q, want two years with includeSubDomains", srv.name, tc.name, hsts)
			case !srv.hsts && hsts != "":
				t.Errorf("%s, %s: Strict-Transport-Security = %q over plain HTTP", srv.name, tc.name, hsts)
			}
		}
	}
}

// Neither policy lets a page run inline script or be framed.
func TestContentSecurityPoliciesForbidInlineScriptAndFraming(t *testing.T) {
	for _, p := range []string{server.APIContentSecurityPolicy, server.PortalContentSecurityPolicy, server.SSOPageContentSecurityPolicy} {
		if strings.Contains(p, "unsafe-inline") || strings.Contains(p, "unsafe-eval") || strings.Contains(p, "*") {
			t.Errorf("policy %q allows inline script, eval or any origin", p)
		}
		for _, d := range []string{"frame-ancestors 'none'", "base-uri 'none'", "default-src "} {
			if !strings.Contains(p, d) {
				t.Errorf("policy %q lacks %s", p, d)
			}
		}
	}
}
