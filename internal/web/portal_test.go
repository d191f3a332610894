package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bursar/internal/auth"
	"bursar/internal/server"
)

// TestRoutesDeclareAccess walks the portal's routes: each declares who
// may use it, one of the accesses the guard knows (web.New panics on any
// other), and every signed-in page's form is refused without a session.
func TestRoutesDeclareAccess(t *testing.T) {
	e := newEnv(t)
	routes := e.portal.Routes()
	if len(routes) < 20 {
		t.Fatalf("%d routes, want the portal's full table", len(routes))
	}
	known := map[string]bool{"(sign-in)": true, "(mfa-pending)": true, "(self)": true}
	for _, rt := range routes {
		if !known[rt.Access] {
			t.Errorf("route %s %s declares access %q", rt.Method, rt.Pattern, rt.Access)
		}
		if rt.Access == "(sign-in)" {
			continue
		}
		path := strings.ReplaceAll(strings.ReplaceAll(rt.Pattern, "{id}", "x"), "{$}", "")
		res := e.client().do(rt.Method, path, map[string]string{}, nil)
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
			t.Errorf("%s %s without a session = %d to %q, want 303 to /signin", rt.Method, rt.Pattern, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

// TestFormsRefusedWithoutToken: a form posted without the synchronizer
// token, with another session's token, or from another site is refused.
func TestFormsRefusedWithoutToken(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	c := e.client()
	c.signIn("ann@acme.example")
	_, tok := c.page("/sessions")
	other := e.client()
	other.signIn("ann@acme.example")
	_, otherTok := other.page("/sessions")
	cases := []struct {
		name   string
		form   map[string]string
		header map[string]string
	}{
		{"no token", map[string]string{}, nil},
		{"another session's token", map[string]string{"csrf_token": otherTok}, nil},
		{"cross-site", map[string]string{"csrf_token": tok}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site", map[string]string{"csrf_token": tok}, map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"foreign origin", map[string]string{"csrf_token": tok}, map[string]string{"Origin": "https://evil.example"}},
		{"null origin without fetch metadata", map[string]string{"csrf_token": tok}, map[string]string{"Origin": "null"}},
	}
	for _, tc := range cases {
		res := c.do(http.MethodPost, "/sessions/revoke-all", tc.form, tc.header)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, res.StatusCode)
		}
	}
	// The session is still live, and the right token works.
	if body, _ := c.page("/sessions"); !strings.Contains(body, "this browser") {
		t.Fatal("the session did not survive the refused posts")
	}
	res := c.do(http.MethodPost, "/sessions/revoke-all", map[string]string{"csrf_token": tok},
		map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"}) // as a browser posts under no-referrer
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the token: status %d, want 303", res.StatusCode)
	}
}

// TestSignInFormNeedsPreSessionToken: the sign-in form, used before any
// session, carries a token of its pre-session cookie (no login CSRF).
func TestSignInFormNeedsPreSessionToken(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	c := e.client()
	res := c.do(http.MethodPost, "/signin", map[string]string{"email": "ann@acme.example", "password": goodPassword}, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || c.cookies[auth.SessionCookie] != "" {
		t.Fatalf("sign-in without the token: status %d, cookie %q; want 403 and none", res.StatusCode, c.cookies[auth.SessionCookie])
	}
	c.signIn("ann@acme.example")
}

// TestSignedInPagesNotStored: every signed-in page says no-store; the
// static files may be cached.
func TestSignedInPagesNotStored(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	c := e.client()
	c.signIn("ann@acme.example")
	for _, rt := range e.portal.Routes() {
		if rt.Method != http.MethodGet || strings.Contains(rt.Pattern, "{id}") {
			continue
		}
		path := strings.ReplaceAll(rt.Pattern, "{$}", "")
		res := c.do(http.MethodGet, path, nil, nil)
		res.Body.Close()
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", path, got)
		}
	}
	res := c.do(http.MethodGet, "/static/portal.css", nil, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Cache-Control"), "public") {
		t.Errorf("static file: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}

// TestWrongPasswordGeneric: an unknown account and a wrong password get
// the same page.
func TestWrongPasswordGeneric(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	var bodies []string
	for _, email := range []string{"ann@acme.example", "nobody@acme.example"} {
		c := e.client()
		_, tok := c.page("/signin")
		res := c.do(http.MethodPost, "/signin", map[string]string{"csrf_token": tok, "email": email, "password": "wrong password!"}, nil)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", res.StatusCode)
		}
		bodies = append(bodies, strings.ReplaceAll(csrfRE.ReplaceAllString(string(b), ""), email, ""))
	}
	if bodies[0] != bodies[1] || !strings.Contains(bodies[0], "The email or password is not right.") {
		t.Fatalf("the pages differ or lack the generic message:\n%s\n---\n%s", bodies[0], bodies[1])
	}
}

var inlineRE = regexp.MustCompile(`(?i)\sstyle\s*=|<style|\son[a-z]+\s*=|javascript:`)

// TestTemplatesNothingInline: no template holds inline script, inline
// style or an event handler attribute, which the Content-Security-Policy
// would block (and which would be a hole if it did not).
func TestTemplatesNothingInline(t *testing.T) {
	err := filepath.WalkDir("templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "<script") && !strings.Contains(line, `src="/static/`) {
				t.Errorf("%s: script without a static src: %s", path, line)
			}
			if inlineRE.MatchString(line) {
				t.Errorf("%s: inline code or style: %s", path, line)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A known refusal that reaches no form of its own is answered with its
// status and message, not as a fault of the server: here a passkey
// sign-in posted to a server whose public URL is an IP address, where
// passkeys are off (the attack stage's scanner found it answering 500).
func TestKnownRefusalIsNotAServerError(t *testing.T) {
	e := newEnvWith(t, func(c *server.Config) { c.Identity.PublicURL = "http://127.0.0.1:9" })
	c := e.client()
	// The forms before sign-in share the pre-session token; the passkey
	// page shows no form when passkeys are off.
	_, tok := c.page("/signin")
	res := c.do(http.MethodPost, "/signin/passkey", map[string]string{"csrf_token": tok, "credential": "not a credential"},
		map[string]string{"Sec-Fetch-Site": "same-origin"})
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusConflict || strings.Contains(string(b), "Something went wrong") {
		t.Errorf("passkey sign-in with passkeys off: status %d, body %q; want 409 and the reason", res.StatusCode, b)
	}
}
