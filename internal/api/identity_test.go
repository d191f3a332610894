package api_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"bursar/internal/api"
	"bursar/internal/auth"
	"bursar/internal/auth/password"
	"bursar/internal/notify/mail"
)

// mailbox is the mail server of the tests: it keeps what it is sent.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (b *mailbox) Send(_ context.Context, m mail.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	return nil
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]{43})`)

// token returns the token of the last mail to the address.
func (e *env) token(to string) string {
	e.t.Helper()
	e.identity.Flush()
	e.mail.mu.Lock()
	defer e.mail.mu.Unlock()
	for i := len(e.mail.msgs) - 1; i >= 0; i-- {
		if m := e.mail.msgs[i]; m.To == to {
			if t := tokenRE.FindStringSubmatch(m.Text); t != nil {
				return t[1]
			}
		}
	}
	e.t.Fatalf("no mail with a token to %s", to)
	return ""
}

const goodPassword = "correct horse battery staple 42"

// withPassword gives the user of the email a password.
func (e *env) withPassword(email, pw string) string {
	e.t.Helper()
	u, err := e.st.GetUserByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	h, err := password.Hash(pw)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.SetUserPassword(context.Background(), u.ID, h, u.CreatedAt); err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// browser is a signed-in browser: its cookie and CSRF token.
type browser struct {
	client
	cookie, csrf string
	opts         []opt
}

func (b browser) do(method, path string, body any, opts ...opt) resp {
	b.e.t.Helper()
	o := append([]opt{header("Cookie", api.SessionCookie+"="+b.cookie)}, b.opts...)
	if method != http.MethodGet && b.csrf != "" {
		o = append(o, header(api.CSRFHeader, b.csrf))
	}
	return b.client.do(method, path, body, append(o, opts...)...)
}

func (b browser) must(status int, method, path string, body any, opts ...opt) map[string]any {
	b.e.t.Helper()
	r := b.do(method, path, body, opts...)
	if r.status != status {
		b.e.t.Fatalf("%v, want status %d", r, status)
	}
	if status == http.StatusNoContent {
		return nil
	}
	return r.obj(b.e.t)
}

// login signs in and returns the browser, failing unless it works.
func (e *env) login(email, pw string) browser {
	e.t.Helper()
	r := client{e: e}.do("POST", "/v1/auth/login", map[string]any{"email": email, "password": pw})
	if r.status != 200 {
		e.t.Fatalf("%v, want 200", r)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == api.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil {
		e.t.Fatalf("%v: no session cookie", r)
	}
	return browser{client: client{e: e}, cookie: cookie.Value, csrf: r.obj(e.t)["csrf_token"].(string)}
}

// identityScenario calls every route of users and sessions, for the
// conformance scenario.
func identityScenario(t *testing.T, e *env, a *tenant) {
	t.Helper()
	e.withPassword(a.org.Email, goodPassword)
	nobody := client{e: e}
	if r := nobody.do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": "wrong password, long enough"}); r.status != 401 {
		t.Errorf("%v, want 401", r)
	}
	owner := e.login(a.org.Email, goodPassword)
	owner.must(200, "GET", "/v1/auth/session", nil)
	owner.must(200, "GET", "/v1/users", nil)
	inv := owner.must(201, "POST", "/v1/users", map[string]any{"email": "Viewer@Acme.example", "role": "viewer"})
	if inv["email"] != "viewer@acme.example" {
		t.Errorf("invitation %v: email not normalized", inv)
	}
	tok := e.token("viewer@acme.example")
	acc := nobody.must(201, "POST", "/v1/invitations/accept", map[string]any{"token": tok, "name": "Vera", "password": goodPassword})
	viewerID := acc["user"].(map[string]any)["id"].(string)
	owner.must(200, "PATCH", "/v1/users/"+viewerID, map[string]any{"role": "accountant"})
	owner.must(200, "POST", "/v1/users/"+viewerID+"/sessions/revoke", nil)
	owner.must(204, "DELETE", "/v1/users/"+viewerID, nil)

	other := e.login(a.org.Email, goodPassword)
	list := owner.must(200, "GET", "/v1/auth/sessions", nil)["data"].([]any)
	if len(list) < 2 {
		t.Errorf("sessions %v, want both", list)
	}
	owner.must(204, "DELETE", "/v1/auth/sessions/"+other.sessionID(t), nil)
	owner = browser{client: owner.client, cookie: owner.cookie, csrf: owner.csrf}
	changed := owner.must(200, "POST", "/v1/auth/password", map[string]any{"current_password": goodPassword, "new_password": goodPassword + "!"})
	owner.csrf = changed["csrf_token"].(string)
	owner.cookie = cookieOf(t, e, a.org.Email, goodPassword+"!")
	owner.csrf = ""
	nobody.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.org.Email})
	nobody.must(204, "POST", "/v1/auth/password-reset/confirm", map[string]any{"token": e.token(a.org.Email), "password": goodPassword})
	owner = e.login(a.org.Email, goodPassword)
	owner.must(200, "POST", "/v1/auth/sessions/revoke-all", nil)
	owner = e.login(a.org.Email, goodPassword)
	owner.must(204, "POST", "/v1/auth/logout", nil)
}

// cookieOf signs in and returns the cookie only.
func cookieOf(t *testing.T, e *env, email, pw string) string {
	t.Helper()
	return e.login(email, pw).cookie
}

func (b browser) sessionID(t *testing.T) string {
	t.Helper()
	return b.must(200, "GET", "/v1/auth/session", nil)["session"].(map[string]any)["id"].(string)
}

// TestASVS_6_3_8_NoUserEnumerationAtLogin: an unknown account and a wrong
// password get the same answer.
func TestASVS_6_3_8_NoUserEnumerationAtLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	nobody := client{e: e}
	known := nobody.do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": "not the password at all"})
	unknown := nobody.do("POST", "/v1/auth/login", map[string]any{"email": "nobody@acme.example", "password": "not the password at all"})
	pk, pu := known.problem(t), unknown.problem(t)
	if known.status != 401 || unknown.status != 401 || pk.Code != pu.Code || pk.Detail != pu.Detail {
		t.Errorf("known %v\nunknown %v\nwant the same 401", known, unknown)
	}
	// Resets answer alike too.
	rk := nobody.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.org.Email})
	ru := nobody.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": "nobody@acme.example"})
	if rk["status"] != ru["status"] {
		t.Errorf("reset answers differ: %v, %v", rk, ru)
	}
}

// TestASVS_6_3_1_SignInThrottledWithoutLockout: repeated failures on an
// account are slowed with 429 and Retry-After, the account holder is
// mailed, and nothing locks the account for good: the wait is bounded.
func TestASVS_6_3_1_SignInThrottledWithoutLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	nobody := client{e: e}
	var last resp
	for i := 0; i < 8; i++ {
		last = nobody.do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": "not the password at all"})
		if last.status == 429 {
			break
		}
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" || last.problem(t).Code != "too_many_attempts" {
		t.Fatalf("%v, want 429 too_many_attempts with Retry-After", last)
	}
	// Even the right password waits: the attempt is refused before it is
	// checked, so guessing gains nothing.
	if r := nobody.do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": goodPassword}); r.status != 429 {
		t.Errorf("%v, want 429 while throttled", r)
	}
}

// TestASVS_7_2_4_NewSessionAtLogin: each sign-in makes a new session id and
// the cookie has the __Host- prefix, Secure, HttpOnly and SameSite=Lax.
func TestASVS_7_2_4_NewSessionAtLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	r := client{e: e}.do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": goodPassword})
	set := r.header.Get("Set-Cookie")
	for _, want := range []string{api.SessionCookie + "=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %q", set, want)
		}
	}
	if strings.Contains(strings.ToLower(set), "domain=") {
		t.Errorf("Set-Cookie %q has a Domain", set)
	}
	b1, b2 := e.login(a.org.Email, goodPassword), e.login(a.org.Email, goodPassword)
	if b1.cookie == b2.cookie || b1.sessionID(t) == b2.sessionID(t) {
		t.Error("two sign-ins share a session")
	}
}

// TestASVS_3_5_1_CSRFChecks: a state-changing request with the cookie
// needs the session's token and a same-origin request; a bearer key needs
// neither.
func TestASVS_3_5_1_CSRFChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	body := map[string]any{"name": "Globex"}
	noToken := b
	noToken.csrf = ""
	for name, r := range map[string]resp{
		"no token":    noToken.do("POST", "/v1/customers", body),
		"wrong token": browser{client: b.client, cookie: b.cookie, csrf: strings.Repeat("A", 43)}.do("POST", "/v1/customers", body),
		"cross-site":  b.do("POST", "/v1/customers", body, header("Sec-Fetch-Site", "cross-site")),
		"origin":      b.do("POST", "/v1/customers", body, header("Origin", "https://evil.example")),
		"login from another site": client{e: e}.do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": goodPassword},
			header("Origin", "https://evil.example")),
	} {
		if p := r.problem(t); r.status != 403 || p.Code != "csrf_failed" {
			t.Errorf("%s: %v, want 403 csrf_failed", name, r)
		}
	}
	b.must(201, "POST", "/v1/customers", body, header("Sec-Fetch-Site", "same-origin"), header("Origin", "http://example.com"))
	a.must(201, "POST", "/v1/customers", body, header("Sec-Fetch-Site", "cross-site"))
}

// TestASVS_8_2_1_RolesGetExactlyTheirMatrix: a session of each role may
// call exactly the routes that auth.Permissions gives it.
func TestASVS_8_2_1_RolesGetExactlyTheirMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withGuard)
	a := e.tenant("Acme")
	ctx := context.Background()
	browsers := map[auth.Role]browser{}
	for _, role := range auth.Roles {
		email := "member-" + string(role) + "@acme.example"
		e.identity.Mail = e.mail
		_, tok, err := e.identity.Invite(ctx, a.org.ID, email, role, "", "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.identity.AcceptInvitation(ctx, string(tok), "User", goodPassword); err != nil {
			t.Fatal(err)
		}
		browsers[role] = e.login(email, goodPassword)
	}
	for _, rt := range api.Routes(e.h) {
		if !rt.Permissioned {
			continue
		}
		path := strings.ReplaceAll(rt.Pattern, "{id}", "x_1")
		for role, b := range browsers {
			r := b.do(rt.Method, path, nil, invalid)
			allowed := auth.RoleAllows(role, rt.Resource, rt.Write)
			denied := r.status == 403 && r.problem(t).Code == "insufficient_role"
			if allowed == denied {
				t.Errorf("%s as %s: %v; the matrix allows it: %v", rt.Method+" "+rt.Pattern, role, r, allowed)
			}
		}
	}
}

// TestASVS_7_4_3_ResetEndsSessions: a password reset ends every session,
// works once, and asks for the second factor when the user has one.
func TestASVS_7_4_3_ResetEndsSessions(t *testing.T) {
	t.Parallel()
	mfa := &fakeMFA{}
	e := newEnv(t)
	e.identity.SecondFactor = mfa
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	nobody := client{e: e}
	nobody.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.org.Email})
	tok := e.token(a.org.Email)
	mfa.on = true
	if r := nobody.do("POST", "/v1/auth/password-reset/confirm", map[string]any{"token": tok, "password": "a brand new passphrase"}); r.status != 422 || r.problem(t).Code != "mfa_required" {
		t.Fatalf("%v, want 422 mfa_required", r)
	}
	nobody.must(204, "POST", "/v1/auth/password-reset/confirm", map[string]any{"token": tok, "password": "a brand new passphrase", "code": "123456"})
	if r := nobody.do("POST", "/v1/auth/password-reset/confirm", map[string]any{"token": tok, "password": "another new passphrase", "code": "123456"}); r.status != 422 {
		t.Errorf("%v: a token works twice", r)
	}
	if r := b.do("GET", "/v1/auth/session", nil); r.status != 401 {
		t.Errorf("%v: a session outlived the reset", r)
	}
	// With a second factor, the password alone opens a pending session
	// that reaches nothing of the organization.
	r := nobody.do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": "a brand new passphrase"})
	if r.status != 200 || r.obj(t)["mfa_required"] != true {
		t.Fatalf("%v, want mfa_required", r)
	}
}

// fakeMFA stands in for internal/auth/mfa.
type fakeMFA struct{ on bool }

func (f *fakeMFA) HasSecondFactor(context.Context, string) (bool, error) { return f.on, nil }
func (f *fakeMFA) VerifySecondFactor(_ context.Context, _, code string) (bool, error) {
	return code == "123456", nil
}

// TestLastOwnerStays: the last owner can be neither demoted nor removed,
// and an admin cannot touch an owner.
func TestLastOwnerStays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	ownerID := e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	if r := b.do("PATCH", "/v1/users/"+ownerID, map[string]any{"role": "admin"}); r.status != 409 || r.problem(t).Code != "last_owner" {
		t.Errorf("%v, want 409 last_owner", r)
	}
	if r := b.do("DELETE", "/v1/users/"+ownerID, nil); r.status != 409 {
		t.Errorf("%v, want 409", r)
	}
	b.must(201, "POST", "/v1/users", map[string]any{"email": "adm@acme.example", "role": "admin"})
	b.e.client(nil).must(201, "POST", "/v1/invitations/accept", map[string]any{"token": e.token("adm@acme.example"), "name": "Adm", "password": goodPassword})
	adm := e.login("adm@acme.example", goodPassword)
	if r := adm.do("DELETE", "/v1/users/"+ownerID, nil); r.status != 403 || r.problem(t).Code != "role_too_high" {
		t.Errorf("%v, want 403 role_too_high", r)
	}
	if r := adm.do("POST", "/v1/users", map[string]any{"email": "o2@acme.example", "role": "owner"}); r.status != 403 {
		t.Errorf("%v, want 403", r)
	}
}

func (e *env) client(_ any) client { return client{e: e} }

// ownerOf returns the id of the tenant's owner.
func ownerOf(t *testing.T, e *env, tn *tenant) string {
	t.Helper()
	u, err := e.st.GetUserByEmail(context.Background(), tn.org.Email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
