package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"bursar/internal/auth"
	"bursar/internal/auth/sso"
)

// TestBrowserSSOSignIn signs a member in through the portal in Chromium:
// from the sign-in page, "sign in with your organization's single
// sign-on", the organization ID, then the provider (mockoidc, which
// approves at once) and back, to the home page, signed in. It is what a
// person does; the plain HTTP tests of sso_test.go cannot see what a
// browser refuses (a cookie it does not send back across sites, a
// Content-Security-Policy it enforces on the redirect to the provider).
func TestBrowserSSOSignIn(t *testing.T) {
	s := newSSOEnv(t)
	s.configure(s.org.ID, func(c *sso.Config) { c.CreateMembers = false })
	s.user("ann@acme.example", "Ann Example", auth.RoleAccountant)
	s.idp.QueueUser(&idpUser{email: "ann@acme.example"})

	c := tab(t)
	run(t, c, chromedp.Navigate(s.base+"/signin"))
	if _, err := chromedp.Run(c, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`a[href="/sso"]`)))); err != nil {
		t.Fatalf("follow the single sign-on link: %v", err)
	}
	run(t, c, chromedp.SendKeys(chromedp.ID("org"), s.org.ID))
	// The form's navigation is redirected to the provider, which approves
	// and redirects back to the callback, which redirects home.
	submit(t, c, `form[action="/sso/start"] button[type=submit]`)
	if got := location(t, c); got != s.base+"/" {
		t.Fatalf("after single sign-on at %s, want the home page; the server says:\n%s", got, s.log.String())
	}
	s.wantHome(t, c, "Ann Example")
	if got := text(t, c, "#orgs"); !strings.Contains(got, "Acme GmbH") || !strings.Contains(got, "accountant") {
		t.Errorf("organizations %q, want Acme GmbH as accountant", got)
	}
}

// The link an organization gives its members (sso.View.SignInURL) opens the
// single sign-on page with the organization filled in; the member's click
// goes on to the provider and back, signed in. The page must let the
// form's navigation be redirected to the provider (its CSP has no
// form-action), which only a browser enforces.
func TestBrowserSSOSignInFromTheLink(t *testing.T) {
	s := newSSOEnv(t)
	s.configure(s.org.ID, func(c *sso.Config) { c.CreateMembers = false })
	s.user("ann@acme.example", "Ann Example", auth.RoleAccountant)
	s.idp.QueueUser(&idpUser{email: "ann@acme.example"})

	c := tab(t)
	run(t, c, chromedp.Navigate(s.base+"/sso/start?org="+s.org.ID))
	if got := location(t, c); got != s.base+"/sso/start?org="+s.org.ID {
		t.Fatalf("opening the link went on to %s; it must wait for the member's click", got)
	}
	submit(t, c, `form[action="/sso/start"] button[type=submit]`)
	if got := location(t, c); got != s.base+"/" {
		t.Fatalf("after single sign-on at %s, want the home page; the server says:\n%s", got, s.log.String())
	}
	s.wantHome(t, c, "Ann Example")
}
