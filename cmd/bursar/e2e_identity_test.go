package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// session is a browser's session against the real binary: its cookie and
// CSRF token, sent as a browser would.
type session struct {
	t            *testing.T
	base         string
	cookie, csrf string
}

func (s session) do(method, path string, body any, csrf bool) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.cookie != "" {
		req.Header.Set("Cookie", "__Host-bursar_session="+s.cookie)
	}
	if csrf {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-bursar_session" && c.Value != "" {
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				s.t.Errorf("session cookie %v: want Secure, HttpOnly, SameSite=Lax, Path=/", c)
			}
		}
	}
	return resp.StatusCode, out
}

// The owner that admin init makes gets a password from set-password,
// signs in to the real server, acts with the session cookie and its CSRF
// token, and signs out, after which the cookie is refused.
func TestSessionSignInEndToEnd(t *testing.T) {
	dir := t.TempDir()
	// This test is about sessions; TestASVS_6_3_3_AdminInitRequiresMFA
	// covers the second factor that admin init requires by default.
	bursar(t, "admin", "init", "--data-dir", dir, "--org", "Acme GmbH", "--email", "owner@example.com", "--currency", "EUR", "--country", "DE",
		"--mfa-required=false")
	const pw = "a long passphrase nobody guesses 7"
	cmd := exec.Command(binPath, "admin", "set-password", "--data-dir", dir, "--email", "Owner@Example.com")
	cmd.Stdin = strings.NewReader(pw + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("admin set-password: %v\n%s", err, out)
	}
	weak := exec.Command(binPath, "admin", "set-password", "--data-dir", dir, "--email", "owner@example.com")
	weak.Stdin = strings.NewReader("password123\n")
	if out, err := weak.CombinedOutput(); err == nil {
		t.Errorf("admin set-password took a short, common password: %s", out)
	}
	// Built on the organization's name (ASVS 5.0 6.2.11).
	named := exec.Command(binPath, "admin", "set-password", "--data-dir", dir, "--email", "owner@example.com")
	named.Stdin = strings.NewReader("Acme GmbH 2026!\n")
	if out, err := named.CombinedOutput(); err == nil || !strings.Contains(string(out), `"acme gmbh"`) {
		t.Errorf("admin set-password with the organization's name: %v %s, want a refusal naming it", err, out)
	}

	p := startServe(t, "--data-dir", dir, "--session-idle-timeout", "10m", "--session-lifetime", "1h")
	nobody := session{t: t, base: p.base}
	if st, _ := nobody.do("POST", "/v1/auth/login", map[string]any{"email": "owner@example.com", "password": pw + "x"}, false); st != 401 {
		t.Fatalf("login with a wrong password: %d, want 401", st)
	}
	req, _ := http.NewRequest("POST", p.base+"/v1/auth/login", strings.NewReader(`{"email":"owner@example.com","password":"`+pw+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var login map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&login); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || login["mfa_required"] != false {
		t.Fatalf("login: %d %v", resp.StatusCode, login)
	}
	s := session{t: t, base: p.base, csrf: login["csrf_token"].(string)}
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-bursar_session" {
			s.cookie = c.Value
		}
	}
	if s.cookie == "" {
		t.Fatal("login set no session cookie")
	}
	sess := login["session"].(map[string]any)
	if got := sess["expires_at"].(string); got == "" {
		t.Errorf("session %v has no expiry", sess)
	}

	if st, body := s.do("POST", "/v1/customers", map[string]any{"name": "Globex"}, false); st != 403 || body["code"] != "csrf_failed" {
		t.Errorf("create without the CSRF token: %d %v, want 403 csrf_failed", st, body)
	}
	if st, body := s.do("POST", "/v1/customers", map[string]any{"name": "Globex"}, true); st != 201 {
		t.Fatalf("create a customer with the session: %d %v", st, body)
	}
	if st, body := s.do("GET", "/v1/customers", nil, false); st != 200 || len(body["data"].([]any)) != 1 {
		t.Errorf("list customers: %d %v", st, body)
	}
	if st, body := s.do("POST", "/v1/auth/logout", nil, true); st != 204 {
		t.Fatalf("logout: %d %v", st, body)
	}
	if st, body := s.do("GET", "/v1/customers", nil, false); st != 401 {
		t.Errorf("the cookie after logout: %d %v, want 401", st, body)
	}
}
