package web_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"bursar/internal/auth"
)

// The browser tests drive Debian's Chromium, headless, through the
// DevTools protocol. One browser serves the package; each test gets a
// browser context of its own (its own cookies). Without Chromium they skip,
// but under CI=true they fail: CI installs it.

var (
	browserOnce   sync.Once
	browserRoot   context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	os.Exit(code)
}

// chromiumPath finds the browser: BURSAR_CHROMIUM, or Debian's chromium.
func chromiumPath() string {
	if p := os.Getenv("BURSAR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab returns a fresh browser context, with a deadline for the test.
func tab(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium not found: CI must install Debian's chromium (.ci/run) or set BURSAR_CHROMIUM")
		}
		t.Skip("Chromium not found: install Debian's chromium or set BURSAR_CHROMIUM to run the browser tests")
	}
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.NoFirstRun)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		root, cancelRoot := chromedp.NewContext(actx)
		browserRoot = root
		browserCancel = func() { cancelRoot(); cancelAlloc() }
		browserErr = chromedp.Do(root) // starts the browser
	})
	if browserErr != nil {
		t.Fatalf("start Chromium: %v", browserErr)
	}
	c, cancel := chromedp.NewContext(browserRoot, chromedp.WithNewBrowserContext())
	c, cancelTimeout := context.WithTimeout(c, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return c
}

func run(t *testing.T, c context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatal(err)
	}
}

// submit clicks the button and waits for the page it leads to.
func submit(t *testing.T, c context.Context, sel string) {
	t.Helper()
	if _, err := chromedp.Run(c, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

func text(t *testing.T, c context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func location(t *testing.T, c context.Context) string {
	t.Helper()
	l, err := chromedp.Run(c, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// signInPage fills in the sign-in form and submits it.
func (e *env) signInPage(t *testing.T, c context.Context, email, pw string) {
	t.Helper()
	run(t, c, chromedp.Navigate(e.base+"/signin"),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), pw))
	submit(t, c, `form[action="/signin"] button[type=submit]`)
}

func (e *env) wantHome(t *testing.T, c context.Context, name string) {
	t.Helper()
	if got := location(t, c); got != e.base+"/" {
		t.Fatalf("at %s, want the home page", got)
	}
	if got := text(t, c, "#who"); got != name {
		t.Fatalf("signed in as %q, want %q", got, name)
	}
}

func signOut(t *testing.T, c context.Context) {
	t.Helper()
	submit(t, c, `form[action="/signout"] button`)
}

func TestBrowserSignIn(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann Example", auth.RoleOwner)
	c := tab(t)
	e.signInPage(t, c, "ann@acme.example", "not the password")
	if got := text(t, c, "#form-error"); got != "The email or password is not right." {
		t.Fatalf("wrong password: error %q", got)
	}
	if v, _ := chromedp.Run(c, chromedp.AttributeValue(chromedp.ID("password"), "aria-describedby")); v.Value != "form-error" {
		t.Errorf("the password field is not tied to the error: aria-describedby %q", v.Value)
	}
	e.signInPage(t, c, "ann@acme.example", goodPassword)
	e.wantHome(t, c, "Ann Example")
	if got := text(t, c, "#orgs"); !strings.Contains(got, "Acme GmbH") || !strings.Contains(got, "owner") {
		t.Fatalf("organizations %q, want Acme GmbH as owner", got)
	}
	signOut(t, c)
	run(t, c, chromedp.Navigate(e.base+"/"))
	if got := location(t, c); got != e.base+"/signin" {
		t.Fatalf("after signing out, / is at %s, want /signin", got)
	}
}

func TestBrowserTOTPAndRecoveryCode(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	c := tab(t)
	e.signInPage(t, c, "ann@acme.example", goodPassword)
	run(t, c, chromedp.Navigate(e.base+"/mfa/totp"))
	submit(t, c, "#start-totp")
	secret := text(t, c, "#totp-secret")
	if uri := text(t, c, "#totp-uri"); !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, secret) {
		t.Fatalf("setup link %q does not carry the secret %q", uri, secret)
	}
	if n, err := chromedp.Run(c, chromedp.Nodes(chromedp.CSSAll("svg.qr path"))); err != nil || len(n) != 1 {
		t.Fatalf("no QR code: %v", err)
	}
	now := time.Now()
	code, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, chromedp.SendKeys(chromedp.ID("code"), code))
	submit(t, c, `form[action="/mfa/totp/confirm"] button`)
	codes, err := chromedp.Run(c, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#recovery-codes code")].map(e => e.textContent)`))
	if err != nil || len(codes) != 10 {
		t.Fatalf("recovery codes %v (%v), want 10", codes, err)
	}
	signOut(t, c)

	// The password alone is not enough any more. The code of the step
	// that confirmed enrolment is used up; the next step's is accepted
	// (one step of drift).
	e.signInPage(t, c, "ann@acme.example", goodPassword)
	if got := location(t, c); !strings.HasPrefix(got, e.base+"/signin/mfa") {
		t.Fatalf("after the password, at %s; want the second factor", got)
	}
	run(t, c, chromedp.SendKeys(chromedp.ID("code"), code))
	submit(t, c, `form[action="/signin/mfa"] button`)
	if got := text(t, c, "#code-error"); !strings.Contains(got, "wrong, expired or already used") {
		t.Fatalf("a used code: error %q", got)
	}
	next, err := totp.GenerateCode(secret, now.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, chromedp.SendKeys(chromedp.ID("code"), next))
	submit(t, c, `form[action="/signin/mfa"] button`)
	e.wantHome(t, c, "Ann")
	signOut(t, c)

	// A recovery code signs in once.
	e.signInPage(t, c, "ann@acme.example", goodPassword)
	run(t, c, chromedp.SendKeys(chromedp.ID("code"), strings.ToLower(codes[3])))
	submit(t, c, `form[action="/signin/mfa"] button`)
	if got := text(t, c, "main"); !strings.Contains(got, "You have 9 recovery codes left.") {
		t.Fatalf("after a recovery code: %q", got)
	}
	signOut(t, c)
	e.signInPage(t, c, "ann@acme.example", goodPassword)
	run(t, c, chromedp.SendKeys(chromedp.ID("code"), codes[3]))
	submit(t, c, `form[action="/signin/mfa"] button`)
	if !strings.HasPrefix(location(t, c), e.base+"/signin/mfa") {
		t.Fatal("a used recovery code signed in again")
	}
}

// virtualAuthenticator gives the tab a platform authenticator that holds
// discoverable credentials and verifies its user, like a phone or laptop.
func virtualAuthenticator(t *testing.T, c context.Context) {
	t.Helper()
	if _, err := chromedp.Call(c, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	_, err := chromedp.Call(c, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{Protocol: cdpwebauthn.AuthenticatorProtocolCtap2,
			Ctap2version: cdpwebauthn.Ctap2versionCtap21, Transport: cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
}

func TestBrowserPasskey(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	c := tab(t)
	run(t, c, chromedp.Navigate(e.base+"/signin"))
	virtualAuthenticator(t, c)
	e.signInPage(t, c, "ann@acme.example", goodPassword)
	run(t, c, chromedp.Navigate(e.base+"/passkeys"), chromedp.SendKeys(chromedp.ID("passkey-name"), "Laptop"))
	submit(t, c, "#add-passkey")
	if got := text(t, c, ".passkey-name"); got != "Laptop" {
		t.Fatalf("passkey named %q, want Laptop (page: %s)", got, text(t, c, "main"))
	}
	if n, err := chromedp.Run(c, chromedp.Nodes(chromedp.CSSAll("#recovery-codes li"))); err != nil || len(n) != 10 {
		t.Fatalf("recovery codes at the first factor: %d (%v), want 10", len(n), err)
	}
	signOut(t, c)

	// A passkey alone signs in: the authenticator names the user.
	run(t, c, chromedp.Navigate(e.base+"/signin/passkey"))
	submit(t, c, "#use-passkey")
	e.wantHome(t, c, "Ann")

	// Rename it, then remove it.
	run(t, c, chromedp.Navigate(e.base+"/passkeys"), chromedp.SetValue(chromedp.CSS(".passkey form.row input[name=name]"), "Work laptop"))
	submit(t, c, ".passkey form.row button")
	if got := text(t, c, ".passkey-name"); got != "Work laptop" {
		t.Fatalf("renamed to %q", got)
	}
	submit(t, c, `.passkey form[action$="/remove"] button`)
	if got := text(t, c, "#no-passkeys"); got == "" {
		t.Fatal("the passkey was not removed")
	}
}

func TestBrowserRevokeOtherSession(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	a, b := tab(t), tab(t)
	e.signInPage(t, a, "ann@acme.example", goodPassword)
	e.signInPage(t, b, "ann@acme.example", goodPassword)
	run(t, a, chromedp.Navigate(e.base+"/sessions"))
	rows, err := chromedp.Run(a, chromedp.Evaluate[[]bool](`[...document.querySelectorAll("tr.session")].map(r => r.textContent.includes("(this browser)"))`))
	if err != nil || len(rows) != 2 {
		t.Fatalf("sessions %v (%v), want 2", rows, err)
	}
	submit(t, a, `tr.session:not(:has(strong)) button`)
	if got := text(t, a, ".notice"); got != "The session was signed out." {
		t.Fatalf("notice %q", got)
	}
	run(t, b, chromedp.Navigate(e.base+"/sessions"))
	if got := location(t, b); got != e.base+"/signin" {
		t.Fatalf("the revoked browser is at %s, want /signin", got)
	}
	run(t, a, chromedp.Navigate(e.base+"/"))
	e.wantHome(t, a, "Ann")
}

func TestBrowserPasswordReset(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	c := tab(t)
	run(t, c, chromedp.Navigate(e.base+"/signin"))
	submit(t, c, `a[href="/reset-password"]`)
	run(t, c, chromedp.SendKeys(chromedp.ID("email"), "ann@acme.example"))
	submit(t, c, `form[action="/reset-password"] button`)
	if got := text(t, c, "h1"); got != "Check your mail" {
		t.Fatalf("after asking: %q", got)
	}
	link := e.link("ann@acme.example")
	if !strings.HasPrefix(link, e.base+"/reset-password?token=") {
		t.Fatalf("link %q", link)
	}
	const newPassword = "a completely new passphrase 7"
	run(t, c, chromedp.Navigate(link), chromedp.SendKeys(chromedp.ID("password"), "short"))
	submit(t, c, `form[action="/reset-password/confirm"] button`)
	if got := text(t, c, "#password-error"); got == "" {
		t.Fatal("a short password shows no error beside its field")
	}
	run(t, c, chromedp.SendKeys(chromedp.ID("password"), newPassword))
	submit(t, c, `form[action="/reset-password/confirm"] button`)
	if got := text(t, c, ".notice"); !strings.Contains(got, "Your password was changed") {
		t.Fatalf("after the reset: %q", got)
	}
	e.signInPage(t, c, "ann@acme.example", newPassword)
	e.wantHome(t, c, "Ann")
	// The link worked once.
	signOut(t, c)
	run(t, c, chromedp.Navigate(link), chromedp.SendKeys(chromedp.ID("password"), "yet another passphrase 8"))
	submit(t, c, `form[action="/reset-password/confirm"] button`)
	if got := text(t, c, "#form-error"); !strings.Contains(got, "invalid, used or expired") {
		t.Fatalf("a used link: %q", got)
	}
}

func TestBrowserAcceptInvitation(t *testing.T) {
	e := newEnv(t)
	owner := e.user("ann@acme.example", "Ann", auth.RoleOwner)
	inv, token, err := e.identity.Invite(ctx, e.org.ID, "bob@acme.example", auth.RoleAccountant, auth.RoleOwner, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.identity.MailInvitation(ctx, inv, token, e.org.Name)
	c := tab(t)
	run(t, c, chromedp.Navigate(e.link("bob@acme.example")),
		chromedp.SendKeys(chromedp.ID("name"), "Bob Builder"), chromedp.SendKeys(chromedp.ID("password"), goodPassword))
	submit(t, c, `form[action="/accept-invitation"] button`)
	if got := text(t, c, ".notice"); !strings.Contains(got, "You are now a member") {
		t.Fatalf("after accepting: %q", got)
	}
	e.signInPage(t, c, "bob@acme.example", goodPassword)
	e.wantHome(t, c, "Bob Builder")
	if got := text(t, c, "#orgs"); !strings.Contains(got, "Acme GmbH, as accountant") {
		t.Fatalf("organizations %q", got)
	}
}
