package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"bursar/internal/auth"
)

// TestASVS_7_5_2_PortalEndingSessionsNeedsFreshSignIn: in the portal,
// signing out another session or everywhere after the step-up window sends
// the user to sign in again (with every factor they have) and ends
// nothing; signing out this browser does not ask; after signing in again
// the same forms work.
func TestASVS_7_5_2_PortalEndingSessionsNeedsFreshSignIn(t *testing.T) {
	e := newEnv(t)
	e.user("ann@acme.example", "Ann", auth.RoleOwner)
	c, other := e.client(), e.client()
	c.signIn("ann@acme.example")
	other.signIn("ann@acme.example")
	sessions, err := e.identity.Sessions(ctx, mustUserID(t, e, "ann@acme.example"))
	if err != nil || len(sessions) != 2 {
		t.Fatalf("sessions %v, %v; want 2", sessions, err)
	}
	// Both sessions authenticated six minutes ago, as if time had passed.
	old := time.Now().UTC().Add(-6 * time.Minute).Format("2006-01-02T15:04:05.000000Z")
	if _, err := e.st.DB().ExecContext(ctx, "UPDATE sessions SET created_at = ?", old); err != nil {
		t.Fatal(err)
	}
	_, tok := c.page("/sessions")
	var otherID string
	for _, s := range sessions {
		if s.ID != sessionIDOf(t, c) {
			otherID = s.ID
		}
	}
	sameOrigin := map[string]string{"Sec-Fetch-Site": "same-origin"}
	for _, path := range []string{"/sessions/" + otherID + "/revoke", "/sessions/revoke-all"} {
		res := c.do(http.MethodPost, path, map[string]string{"csrf_token": tok}, sameOrigin)
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin?next=") {
			t.Errorf("POST %s with a stale sign-in = %d to %q, want 303 to /signin?next=", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if body, _ := other.page("/sessions"); !strings.Contains(body, "this browser") {
		t.Fatal("a refused sign-out ended the other session")
	}
	// The step-up: a full sign-in from the page the refusal sent to.
	_, signinTok := c.page("/signin?next=/sessions")
	res := c.do(http.MethodPost, "/signin", map[string]string{"csrf_token": signinTok, "email": "ann@acme.example",
		"password": goodPassword, "next": "/sessions"}, sameOrigin)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sessions" {
		t.Fatalf("signing in again = %d to %q, want 303 to /sessions", res.StatusCode, res.Header.Get("Location"))
	}
	_, tok = c.page("/sessions")
	res = c.do(http.MethodPost, "/sessions/"+otherID+"/revoke", map[string]string{"csrf_token": tok}, sameOrigin)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sessions?notice=revoked" {
		t.Fatalf("revoke after signing in again = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := other.do(http.MethodGet, "/sessions", nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the ended session still sees /sessions: %d", res.StatusCode)
	}
	// Signing out this browser never asks.
	if _, err := e.st.DB().ExecContext(ctx, "UPDATE sessions SET created_at = ?", old); err != nil {
		t.Fatal(err)
	}
	res = c.do(http.MethodPost, "/sessions/"+sessionIDOf(t, c)+"/revoke", map[string]string{"csrf_token": tok}, sameOrigin)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Errorf("signing out this browser = %d to %q, want 303 to /signin", res.StatusCode, res.Header.Get("Location"))
	}
}

func mustUserID(t *testing.T, e *env, email string) string {
	t.Helper()
	u, err := e.st.GetUserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// sessionIDOf is the public id of the client's session.
func sessionIDOf(t *testing.T, c *client) string {
	t.Helper()
	s, _, err := c.e.identity.Resume(ctx, c.cookies[auth.SessionCookie])
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}
