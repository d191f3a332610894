package web_test

// Tests named after the ASVS 5.0 requirement they prove
// (docs/security/asvs.md maps every requirement to its tests).

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bursar/internal/auth"
)

var (
	inputTag = regexp.MustCompile(`<input\b[^>]*>`)
	attr     = func(name string) *regexp.Regexp { return regexp.MustCompile(`\b` + name + `="([^"]*)"`) }
)

// portalSources are the portal's templates and scripts, as embedded.
func portalSources(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, glob := range []string{"templates/*.html", "static/*.js"} {
		names, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			out[n] = string(b)
		}
	}
	if len(out) < 10 {
		t.Fatalf("%d portal sources, want the templates and scripts", len(out))
	}
	return out
}

// TestASVS_6_2_6_PasswordFieldsMasked: every password field of the portal
// is an input of type password, on the served sign-in page too.
func TestASVS_6_2_6_PasswordFieldsMasked(t *testing.T) {
	n := 0
	for name, src := range portalSources(t) {
		for _, tag := range inputTag.FindAllString(src, -1) {
			m := attr("name").FindStringSubmatch(tag)
			if m == nil || !strings.Contains(m[1], "password") {
				continue
			}
			n++
			if ty := attr("type").FindStringSubmatch(tag); ty == nil || ty[1] != "password" {
				t.Errorf("%s: %s is not type=password", name, tag)
			}
		}
	}
	if n < 3 {
		t.Errorf("%d password fields, want those of sign-in, reset and invitation", n)
	}
	e := newEnv(t)
	body, _ := e.client().page("/signin")
	if !regexp.MustCompile(`<input [^>]*name="password" type="password"`).MatchString(body) {
		t.Errorf("the served sign-in page has no masked password field:\n%s", body)
	}
}

// TestASVS_6_2_7_PasteAndPasswordManagersPermitted: password fields name
// their purpose for password managers (current-password, new-password),
// and nothing in the portal blocks paste or turns autocomplete off.
func TestASVS_6_2_7_PasteAndPasswordManagersPermitted(t *testing.T) {
	blockers := regexp.MustCompile(`(?i)onpaste|oncopy|ondrop|autocomplete="off"|addEventListener\(\s*["'](paste|copy|drop)["']`)
	for name, src := range portalSources(t) {
		if m := blockers.FindString(src); m != "" {
			t.Errorf("%s: %q blocks paste or password managers", name, m)
		}
		for _, tag := range inputTag.FindAllString(src, -1) {
			if ty := attr("type").FindStringSubmatch(tag); ty == nil || ty[1] != "password" {
				continue
			}
			ac := attr("autocomplete").FindStringSubmatch(tag)
			if ac == nil || (ac[1] != "current-password" && ac[1] != "new-password") {
				t.Errorf("%s: %s: want autocomplete current-password or new-password", name, tag)
			}
		}
	}
}

// TestASVS_7_4_4_SignOutOnEverySignedInPage: every page of a signed-in
// user carries the sign-out button, a form that posts to /signout.
func TestASVS_7_4_4_SignOutOnEverySignedInPage(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	c := e.client()
	c.signIn("ann@acme.example")
	signOut := regexp.MustCompile(`<form method="post" action="/signout">.*<button type="submit"[^>]*>Sign out</button></form>`)
	n := 0
	for _, rt := range e.portal.Routes() {
		if rt.Method != http.MethodGet || rt.Access != "(self)" || strings.Contains(rt.Pattern, "{id}") {
			continue
		}
		path := strings.ReplaceAll(rt.Pattern, "{$}", "")
		body, _ := c.page(path)
		n++
		if !signOut.MatchString(body) {
			t.Errorf("GET %s: no sign-out button", path)
		}
	}
	if n < 4 {
		t.Errorf("checked %d signed-in pages, want the portal's", n)
	}
}
