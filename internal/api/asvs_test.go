package api_test

// Tests named after the ASVS 5.0 requirement they prove, for the
// requirements of V6, V7 and V8 that no other test of the package proves
// (docs/security/asvs.md maps every requirement to its tests).

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"bursar/internal/api"
	"bursar/internal/auth"
)

// TestASVS_6_2_2_PasswordChangeNeedsCurrentPassword: a signed-in user can
// change their password (6.2.2), only by giving the current one (6.2.3);
// afterwards the new password signs in and the old one does not.
func TestASVS_6_2_2_PasswordChangeNeedsCurrentPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	const next = "a different passphrase, also long"
	r := b.do("POST", "/v1/auth/password", map[string]any{"current_password": "not my password at all", "new_password": next})
	if r.status != 422 || !containsField(r.problem(t).fields(), "current_password") {
		t.Fatalf("change with a wrong current password: %v, want 422 on current_password", r)
	}
	b.must(200, "POST", "/v1/auth/password", map[string]any{"current_password": goodPassword, "new_password": next})
	if r := (client{e: e}).do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": goodPassword}); r.status != 401 {
		t.Errorf("the old password after a change: %v, want 401", r)
	}
	e.login(a.org.Email, next)
}

// TestASVS_6_2_4_CommonPasswordRefusedOnEveryPath: the common-password
// check applies wherever a password is chosen: accepting an invitation
// (registration), changing it and resetting it.
func TestASVS_6_2_4_CommonPasswordRefusedOnEveryPath(t *testing.T) {
	t.Parallel()
	const common = "password1234" // on the shipped list, 12 characters
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	nobody := client{e: e}

	owner.must(201, "POST", "/v1/users", map[string]any{"email": "new@acme.example", "role": "viewer"})
	if r := nobody.do("POST", "/v1/invitations/accept", map[string]any{"token": e.token("new@acme.example"), "name": "New", "password": common}); r.status != 422 {
		t.Errorf("accept an invitation with a common password: %v, want 422", r)
	}
	if r := owner.do("POST", "/v1/auth/password", map[string]any{"current_password": goodPassword, "new_password": common}); r.status != 422 {
		t.Errorf("change to a common password: %v, want 422", r)
	}
	nobody.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.org.Email})
	if r := nobody.do("POST", "/v1/auth/password-reset/confirm", map[string]any{"token": e.token(a.org.Email), "password": common}); r.status != 422 {
		t.Errorf("reset to a common password: %v, want 422", r)
	}
	e.login(a.org.Email, goodPassword)
}

// TestASVS_6_2_10_NoPeriodicRotation: a password set years ago still signs
// in; nothing asks the user to change it.
func TestASVS_6_2_10_NoPeriodicRotation(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	e := newEnv(t, withClock(c))
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	c.add(3 * 366 * 24 * time.Hour)
	r := client{e: e}.do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": goodPassword})
	if r.status != 200 || r.obj(t)["mfa_required"] != false {
		t.Fatalf("sign-in three years after the password was set: %v, want 200 without further steps", r)
	}
	e.signedInAs(r).must(200, "GET", "/v1/customers", nil)
}

// TestASVS_6_3_2_NoDefaultAccounts: a fresh database has no user at all,
// and the owner that setup makes (as admin init does: the operator's own
// email, no password) cannot sign in with any password until one is set.
func TestASVS_6_3_2_NoDefaultAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var n int
	if err := e.st.DB().QueryRowContext(context.Background(), "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("a fresh database has %d users, want none", n)
	}
	a := e.tenant("Acme")
	nobody := client{e: e}
	for _, email := range []string{a.org.Email, "admin@acme.example", "root@acme.example"} {
		for _, pw := range []string{"admin", "password", "changeme1234", goodPassword} {
			if r := nobody.do("POST", "/v1/auth/login", map[string]any{"email": email, "password": pw}, invalid); r.status != 401 && r.status != 422 {
				t.Errorf("sign-in as %s with %q: %v, want 401 or 422", email, pw, r)
			}
		}
	}
}

// TestASVS_6_4_1_InvitationLinksExpireAndWorkOnce: the activation secret
// of an account (the invitation link) is single use and expires after
// auth.InvitationTTL; the password is the user's own, under the policy.
func TestASVS_6_4_1_InvitationLinksExpireAndWorkOnce(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	e := newEnv(t, withClock(c))
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	nobody := client{e: e}

	owner.must(201, "POST", "/v1/users", map[string]any{"email": "late@acme.example", "role": "viewer"})
	late := e.token("late@acme.example")
	owner.must(201, "POST", "/v1/users", map[string]any{"email": "once@acme.example", "role": "viewer"})
	once := e.token("once@acme.example")
	if r := nobody.do("POST", "/v1/invitations/accept", map[string]any{"token": once, "name": "Once", "password": "short"}); r.status != 422 {
		t.Errorf("accept with a password under the policy: %v, want 422", r)
	}
	nobody.must(201, "POST", "/v1/invitations/accept", map[string]any{"token": once, "name": "Once", "password": goodPassword})
	if r := nobody.do("POST", "/v1/invitations/accept", map[string]any{"token": once, "name": "Again", "password": goodPassword + "!"}); r.status != 422 || r.problem(t).Code != "invalid_token" {
		t.Errorf("an invitation link used twice: %v, want 422 invalid_token", r)
	}
	c.add(auth.InvitationTTL + time.Minute)
	if r := nobody.do("POST", "/v1/invitations/accept", map[string]any{"token": late, "name": "Late", "password": goodPassword}); r.status != 422 || r.problem(t).Code != "invalid_token" {
		t.Errorf("an expired invitation link: %v, want 422 invalid_token", r)
	}
}

// TestASVS_6_4_2_NoHintsOrSecretQuestions: no operation of the API takes
// or returns a password hint or a security question.
func TestASVS_6_4_2_NoHintsOrSecretQuestions(t *testing.T) {
	t.Parallel()
	var doc any
	if err := json.Unmarshal(api.OpenAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				l := strings.ToLower(k)
				if strings.Contains(l, "hint") || strings.Contains(l, "question") || strings.Contains(l, "secret_answer") {
					t.Errorf("openapi.json %s/%s: a hint or secret question", path, k)
				}
				walk(path+"/"+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path, x)
			}
		}
	}
	walk("", doc)
}

// TestASVS_7_2_1_SessionVerifiedByTheServer: only a cookie whose session
// the server holds, live, is accepted; a well-formed value it never gave
// out, or one of an ended session, is not.
func TestASVS_7_2_1_SessionVerifiedByTheServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	b.must(200, "GET", "/v1/auth/session", nil)
	forged := b
	forged.cookie = strings.Repeat("A", 43)
	if r := forged.do("GET", "/v1/auth/session", nil); r.status != 401 {
		t.Errorf("a forged cookie: %v, want 401", r)
	}
	b.must(204, "POST", "/v1/auth/logout", nil)
	if r := b.do("GET", "/v1/auth/session", nil); r.status != 401 {
		t.Errorf("the cookie of an ended session: %v, want 401", r)
	}
}

// TestASVS_7_2_3_SessionTokensRandomAndStoredHashed: a session token is
// 43 base64url characters (256 bits) from a fresh draw at every sign-in
// (7.2.2: no static secret), never repeated, and the database holds only
// its SHA-256.
func TestASVS_7_2_3_SessionTokensRandomAndStoredHashed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	seen := map[string]bool{}
	for range 10 {
		c := e.login(a.org.Email, goodPassword).cookie
		if len(c) != 43 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("cookie %q: want 43 base64url characters", c)
		}
		if seen[c] {
			t.Fatalf("cookie %q given twice", c)
		}
		seen[c] = true
		var plain, hashed int
		db := e.st.DB()
		if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM sessions WHERE hash = ?", []byte(c)).Scan(&plain); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM sessions WHERE hash = ?", auth.HashSecret(c)).Scan(&hashed); err != nil {
			t.Fatal(err)
		}
		if plain != 0 || hashed != 1 {
			t.Fatalf("sessions rows: %d by the cookie, %d by its hash; want 0 and 1", plain, hashed)
		}
	}
}

// TestASVS_7_2_4_NewSessionAtReauthentication: a step-up gives a new
// session token and ends the one it replaces.
func TestASVS_7_2_4_NewSessionAtReauthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	next := e.signedInAs(b.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword}))
	if next.cookie == b.cookie {
		t.Fatal("reauthentication kept the session token")
	}
	if r := b.do("GET", "/v1/auth/session", nil); r.status != 401 {
		t.Errorf("the token before reauthentication: %v, want 401", r)
	}
	next.must(200, "GET", "/v1/auth/session", nil)
}

// TestASVS_7_3_1_IdleTimeout: a session used within the idle timeout
// lives on; one unused for it must sign in again.
func TestASVS_7_3_1_IdleTimeout(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	e := newEnv(t, withClock(c))
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	for range 4 {
		c.add(auth.DefaultSessionIdle - 2*time.Minute)
		b.must(200, "GET", "/v1/auth/session", nil)
	}
	c.add(auth.DefaultSessionIdle)
	if r := b.do("GET", "/v1/auth/session", nil); r.status != 401 || r.problem(t).Code != "unauthenticated" {
		t.Errorf("after %v idle: %v, want 401 unauthenticated", auth.DefaultSessionIdle, r)
	}
}

// TestASVS_7_3_2_AbsoluteLifetime: a session kept busy still ends at its
// absolute lifetime, counted from the sign-in.
func TestASVS_7_3_2_AbsoluteLifetime(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	e := newEnv(t, withClock(c))
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	step := 20 * time.Minute
	for elapsed := step; elapsed < auth.DefaultSessionAbsolute; elapsed += step {
		c.add(step)
		b.must(200, "GET", "/v1/auth/session", nil)
	}
	c.add(step)
	if r := b.do("GET", "/v1/auth/session", nil); r.status != 401 || r.problem(t).Code != "unauthenticated" {
		t.Errorf("a busy session past %v: %v, want 401 unauthenticated", auth.DefaultSessionAbsolute, r)
	}
}

// TestASVS_7_4_1_LogoutEndsSession: logout clears the cookie and ends the
// session on the server, so a copy of the cookie is refused; "sign out
// everywhere" does the same for every session of the user.
func TestASVS_7_4_1_LogoutEndsSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	r := b.do("POST", "/v1/auth/logout", nil)
	if r.status != 204 || !strings.Contains(r.header.Get("Set-Cookie"), api.SessionCookie+"=;") {
		t.Errorf("logout: %v, Set-Cookie %q; want 204 clearing the cookie", r, r.header.Get("Set-Cookie"))
	}
	if r := b.do("GET", "/v1/customers", nil); r.status != 401 {
		t.Errorf("the cookie after logout: %v, want 401", r)
	}
	one, two := e.login(a.org.Email, goodPassword), e.login(a.org.Email, goodPassword)
	one.must(200, "POST", "/v1/auth/sessions/revoke-all", nil)
	for _, s := range []browser{one, two} {
		if r := s.do("GET", "/v1/auth/session", nil); r.status != 401 {
			t.Errorf("a session after sign out everywhere: %v, want 401", r)
		}
	}
}

// TestASVS_7_4_3_PasswordChangeEndsOtherSessions: changing the password
// ends every other session of the user and keeps the current one under a
// new token; after a change of second factor, "sign out everywhere" is
// offered and ends the others too.
func TestASVS_7_4_3_PasswordChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	here, there := e.login(a.org.Email, goodPassword), e.login(a.org.Email, goodPassword)
	changed := here.do("POST", "/v1/auth/password", map[string]any{"current_password": goodPassword, "new_password": goodPassword + "!"})
	here = e.signedInAs(changed)
	if r := there.do("GET", "/v1/auth/session", nil); r.status != 401 {
		t.Errorf("another session after a password change: %v, want 401", r)
	}
	here.must(200, "GET", "/v1/auth/session", nil)

	there = e.login(a.org.Email, goodPassword+"!")
	enrolTOTP(t, here, time.Now())
	here.must(200, "POST", "/v1/auth/sessions/revoke-all", nil)
	if r := there.do("GET", "/v1/auth/session", nil); r.status != 401 {
		t.Errorf("another session after sign out everywhere: %v, want 401", r)
	}
}

// TestASVS_8_2_2_AnotherUsersSessionIsOutOfReach: the sessions routes act
// on the caller's own sessions only: ending another member's session by
// its id is 404 and leaves it live, and the list shows only one's own.
func TestASVS_8_2_2_AnotherUsersSessionIsOutOfReach(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	owner.must(201, "POST", "/v1/users", map[string]any{"email": "vera@acme.example", "role": "admin"})
	client{e: e}.must(201, "POST", "/v1/invitations/accept", map[string]any{"token": e.token("vera@acme.example"), "name": "Vera", "password": goodPassword})
	vera := e.login("vera@acme.example", goodPassword)
	ownerSession := owner.sessionID(t)
	if r := vera.do("DELETE", "/v1/auth/sessions/"+ownerSession, nil); r.status != 404 {
		t.Errorf("end another user's session: %v, want 404", r)
	}
	owner.must(200, "GET", "/v1/auth/session", nil)
	for _, s := range vera.must(200, "GET", "/v1/auth/sessions", nil)["data"].([]any) {
		if s.(map[string]any)["id"] == ownerSession {
			t.Errorf("another user's session in the list: %v", s)
		}
	}
}

// TestASVS_8_2_3_FieldLevelAccess: a caller writes only the fields a
// route's schema offers (a server-owned field such as an organization, a
// number or a total is refused by name) and never reads a stored secret:
// no listing of users, sessions or API keys carries a hash, a password or
// a key's secret.
func TestASVS_8_2_3_FieldLevelAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	b := e.tenant("Beta")
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	for _, field := range []string{"org_id", "id", "created_at"} {
		r := a.do("POST", "/v1/customers", map[string]any{"name": "Globex", field: "x"}, invalid)
		if r.status != 422 || !containsField(r.problem(t).fields(), field) {
			t.Errorf("create a customer with %s: %v, want 422 naming it", field, r)
		}
	}
	f := a.seed(t)
	inv := a.invoiceBody(f, "1")
	for _, field := range []string{"number", "total", "status", "org_id"} {
		body := map[string]any{}
		for k, v := range inv {
			body[k] = v
		}
		body[field] = b.org.ID
		r := a.do("POST", "/v1/invoices", body, invalid)
		if r.status != 422 || !containsField(r.problem(t).fields(), field) {
			t.Errorf("create an invoice with %s: %v, want 422 naming it", field, r)
		}
	}
	owner.must(201, "POST", "/v1/users", map[string]any{"email": "x@acme.example", "role": "viewer"})
	owner = e.signedInAs(owner.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword}))
	owner.must(201, "POST", "/v1/api-keys", map[string]any{"name": "ci", "scopes": []string{"invoices:read"}})
	for _, path := range []string{"/v1/users", "/v1/invitations", "/v1/auth/sessions", "/v1/auth/session", "/v1/api-keys"} {
		var walk func(where string, v any)
		walk = func(where string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					l := strings.ToLower(k)
					if strings.Contains(l, "hash") || strings.Contains(l, "password") || l == "secret" || l == "token" {
						t.Errorf("GET %s: field %s%s", path, where, k)
					}
					walk(where+k+".", x)
				}
			case []any:
				for _, x := range v {
					walk(where, x)
				}
			}
		}
		walk("", owner.must(200, "GET", path, nil))
	}
}

func containsField(fields []string, name string) bool {
	for _, f := range fields {
		if f == name {
			return true
		}
	}
	return false
}
