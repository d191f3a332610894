package api_test

import (
	"context"
	"testing"
	"time"
)

// member invites the email into the tenant's organization with the role,
// through the owner's key, and returns the new user's id once they have
// accepted with goodPassword.
func (e *env) member(t *testing.T, a *tenant, email, role string) string {
	t.Helper()
	a.must(201, "POST", "/v1/users", map[string]any{"email": email, "role": role})
	acc := client{e: e}.must(201, "POST", "/v1/invitations/accept", map[string]any{"token": e.token(email), "name": "Vera", "password": goodPassword})
	return acc["user"].(map[string]any)["id"].(string)
}

// stillSignedIn reports whether the browser's session is live.
func stillSignedIn(b browser) bool { return b.do("GET", "/v1/auth/session", nil).status == 200 }

// TestASVS_7_4_2_RemovedMemberSignedOutEverywhere: removing a member ends
// every session of theirs at once, also the ones that acted in another
// organization, and the audit entry says how many ended.
func TestASVS_7_4_2_RemovedMemberSignedOutEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.tenant("Acme"), e.tenant("Globex")
	vera := e.member(t, a, "vera@acme.example", "accountant")
	b.must(201, "POST", "/v1/users", map[string]any{"email": "vera@acme.example", "role": "viewer"})
	client{e: e}.must(201, "POST", "/v1/invitations/accept", map[string]any{"token": e.token("vera@acme.example"), "name": "Vera", "password": goodPassword})
	inAcme, inGlobex := e.login("vera@acme.example", goodPassword), e.login("vera@acme.example", goodPassword)
	inAcme.must(200, "GET", "/v1/customers", nil, header("Bursar-Organization", a.org.ID))
	inGlobex.must(200, "GET", "/v1/customers", nil, header("Bursar-Organization", b.org.ID))

	a.must(204, "DELETE", "/v1/users/"+vera, nil)
	for name, s := range map[string]browser{"acting in Acme": inAcme, "acting in Globex": inGlobex} {
		if r := s.do("GET", "/v1/auth/session", nil); r.status != 401 {
			t.Errorf("the session %s after removal from Acme: %v, want 401", name, r)
		}
	}
	// A fresh sign-in works, in the organization that remains.
	again := e.login("vera@acme.example", goodPassword)
	again.must(200, "GET", "/v1/customers", nil)
	if r := again.do("GET", "/v1/customers", nil, header("Bursar-Organization", a.org.ID)); r.status != 403 {
		t.Errorf("Acme after removal: %v, want 403", r)
	}
	l := a.must(200, "GET", "/v1/audit-events?action=member.removed&object_type=member&object_id="+vera, nil)["data"].([]any)
	if len(l) != 1 || !hasField(l[0], "sessions_ended") {
		t.Errorf("audit entries of the removal %v, want one with sessions_ended", l)
	}
}

// hasField reports whether an audit event of the API lists the field.
func hasField(event any, name string) bool {
	fields, _ := event.(map[string]any)["fields"].([]any)
	for _, f := range fields {
		if f.(map[string]any)["name"] == name {
			return true
		}
	}
	return false
}

// TestASVS_7_4_2_DisabledAccountSignedOutAndRefused: disabling an account
// ends its sessions, and it signs in by no pathway (password, passkey
// alone, a session that outlived the disabling) until it is enabled again;
// the refusal is the one generic failure.
func TestASVS_7_4_2_DisabledAccountSignedOutAndRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	userID := e.withPassword(a.org.Email, goodPassword)
	one, two := e.login(a.org.Email, goodPassword), e.login(a.org.Email, goodPassword)
	ctx := context.Background()
	n, err := e.identity.DisableUser(ctx, userID)
	if err != nil || n != 2 {
		t.Fatalf("DisableUser = %d, %v; want 2 sessions ended", n, err)
	}
	for _, s := range []browser{one, two} {
		if r := s.do("GET", "/v1/auth/session", nil); r.status != 401 {
			t.Errorf("a session after disabling: %v, want 401", r)
		}
	}
	r := client{e: e}.do("POST", "/v1/auth/login", map[string]any{"email": a.org.Email, "password": goodPassword})
	if r.status != 401 || r.problem(t).Code != "invalid_credentials" {
		t.Errorf("sign-in of a disabled account: %v, want 401 invalid_credentials", r)
	}
	// A session that slipped in (made directly, as a race with the
	// disabling could) is refused all the same.
	res, err := e.identity.SignInFederated(ctx, "192.0.2.1", "test", func(context.Context) (string, error) { return userID, nil })
	if err == nil {
		t.Errorf("federated sign-in of a disabled account gave session %s", res.Session.ID)
	}
	if err := e.identity.EnableUser(ctx, userID); err != nil {
		t.Fatal(err)
	}
	e.login(a.org.Email, goodPassword).must(200, "GET", "/v1/customers", nil)
}

// TestASVS_7_4_5_AdministratorEndsMemberSessions: an owner or admin ends
// every session of a member after a fresh authentication; an admin may
// not end an owner's, a member of another organization is not found, a
// viewer may not, and the audit log records it.
func TestASVS_7_4_5_AdministratorEndsMemberSessions(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	e := newEnv(t, withClock(c))
	a, other := e.tenant("Acme"), e.tenant("Globex")
	ownerID := e.withPassword(a.org.Email, goodPassword)
	e.withPassword(other.org.Email, goodPassword)
	admin := e.member(t, a, "ada@acme.example", "admin")
	viewer := e.member(t, a, "vic@acme.example", "viewer")
	ada := e.login("ada@acme.example", goodPassword)
	vic1, vic2 := e.login("vic@acme.example", goodPassword), e.login("vic@acme.example", goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	stranger := e.login(other.org.Email, goodPassword)

	if r := vic1.do("POST", "/v1/users/"+admin+"/sessions/revoke", nil); r.status != 403 || r.problem(t).Code != "insufficient_role" {
		t.Errorf("a viewer ends an admin's sessions: %v, want 403 insufficient_role", r)
	}
	if r := ada.do("POST", "/v1/users/"+ownerID+"/sessions/revoke", nil); r.status != 403 || r.problem(t).Code != "role_too_high" {
		t.Errorf("an admin ends the owner's sessions: %v, want 403 role_too_high", r)
	}
	if r := stranger.do("POST", "/v1/users/"+viewer+"/sessions/revoke", nil); r.status != 404 {
		t.Errorf("another organization's owner ends a member's sessions: %v, want 404", r)
	}
	if !stillSignedIn(vic1) || !stillSignedIn(owner) {
		t.Fatal("a refused request ended sessions")
	}

	c.add(6 * time.Minute)
	vic1.must(200, "GET", "/v1/auth/session", nil) // keep the viewer's sessions from idling out
	vic2.must(200, "GET", "/v1/auth/session", nil)
	if r := ada.do("POST", "/v1/users/"+viewer+"/sessions/revoke", nil); r.status != 403 || r.problem(t).Code != "reauthentication_required" {
		t.Errorf("an admin without a fresh authentication: %v, want 403 reauthentication_required", r)
	}
	ada = e.signedInAs(ada.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword}))
	got := ada.must(200, "POST", "/v1/users/"+viewer+"/sessions/revoke", nil)
	if got["revoked"] != float64(2) {
		t.Errorf("revoked %v, want 2", got)
	}
	for _, s := range []browser{vic1, vic2} {
		if stillSignedIn(s) {
			t.Error("a session of the viewer lives on after an admin ended them")
		}
	}
	if !stillSignedIn(ada) || !stillSignedIn(owner) {
		t.Error("ending a member's sessions ended others'")
	}
	// An API key with users:write may, without a step-up: it has none.
	e.login("vic@acme.example", goodPassword)
	if got := a.must(200, "POST", "/v1/users/"+viewer+"/sessions/revoke", nil); got["revoked"] != float64(1) {
		t.Errorf("revoked by key %v, want 1", got)
	}
	l := a.must(200, "GET", "/v1/audit-events?action=member.sessions_revoked&object_type=member&object_id="+viewer, nil)["data"].([]any)
	if len(l) != 2 {
		t.Errorf("audit entries %v, want 2", l)
	}
}

// TestASVS_7_5_1_StepUpNeedsEveryFactor: a user with a second factor
// confirms it is them with both the password and a code, never with one
// alone; a wrong half fails like a wrong password, and the code is not
// spent by an attempt whose password is wrong.
func TestASVS_7_5_1_StepUpNeedsEveryFactor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	_, codes := enrolTOTP(t, b, time.Now())
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"the password alone", map[string]any{"password": goodPassword}, "code"},
		{"a code alone", map[string]any{"code": codes[0]}, "password"},
		{"nothing", map[string]any{}, "password"},
	} {
		r := b.do("POST", "/v1/auth/reauthenticate", tc.body)
		if r.status != 422 || !containsField(r.problem(t).fields(), tc.field) {
			t.Errorf("%s: %v, want 422 naming %s", tc.name, r, tc.field)
		}
	}
	if r := b.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": "not my password at all", "code": codes[0]}); r.status != 401 {
		t.Errorf("a wrong password with a right code: %v, want 401", r)
	}
	if r := b.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword, "code": "0000-0000-0000"}); r.status != 401 {
		t.Errorf("a right password with a wrong code: %v, want 401", r)
	}
	// The code the wrong password came with is still good.
	b = e.signedInAs(b.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword, "code": codes[0]}))
	if r := b.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword, "code": codes[0]}); r.status != 401 {
		t.Errorf("a recovery code twice: %v, want 401", r)
	}
}

// TestASVS_7_5_2_EndingSessionsNeedsFreshAuthentication: ending another
// of one's sessions, or all of them, asks for an authentication of the
// last five minutes; signing out the current session does not.
func TestASVS_7_5_2_EndingSessionsNeedsFreshAuthentication(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	e := newEnv(t, withClock(c))
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	here, there := e.login(a.org.Email, goodPassword), e.login(a.org.Email, goodPassword)
	thereID := there.sessionID(t)
	c.add(6 * time.Minute)
	for _, call := range []struct{ method, path string }{
		{"DELETE", "/v1/auth/sessions/" + thereID}, {"POST", "/v1/auth/sessions/revoke-all"},
	} {
		if r := here.do(call.method, call.path, nil); r.status != 403 || r.problem(t).Code != "reauthentication_required" {
			t.Errorf("%s %s after 6 minutes: %v, want 403 reauthentication_required", call.method, call.path, r)
		}
	}
	if !stillSignedIn(there) {
		t.Fatal("a refused request ended the other session")
	}
	here = e.signedInAs(here.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword}))
	here.must(204, "DELETE", "/v1/auth/sessions/"+thereID, nil)
	if stillSignedIn(there) {
		t.Error("the other session lives on")
	}
	c.add(6 * time.Minute)
	here.must(204, "DELETE", "/v1/auth/sessions/"+here.sessionID(t), nil)
}
