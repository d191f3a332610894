package api_test

import (
	"strings"
	"testing"
	"time"

	"bursar/internal/api"
	"bursar/internal/audit"
	"bursar/internal/auth/sso"
	"bursar/internal/store/sqlstore"
)

// withSSO serves the organizations' single sign-on settings.
func withSSO(d *api.Deps) {
	d.SSO = &sso.Service{Store: d.Orgs.(*sqlstore.Store), Identity: d.Identity, Now: d.Now, BaseURL: "https://bursar.example"}
}

const ssoSecret = "s3cret-of-the-client-at-the-provider"

var ssoBody = map[string]any{"issuer": "https://login.example.com/acme", "client_id": "bursar", "client_secret": ssoSecret,
	"allowed_domains": []string{"Acme.Example"}, "create_members": true}

// The single sign-on settings: validated, the secret kept but never
// shown or audited, one organization's invisible to another, read-only
// for a read-only key, and a session needs a fresh authentication to
// change them.
func TestSSOSettings(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	e := newEnv(t, withClock(c), withSSO)
	a, b := e.tenant("Alpha"), e.tenant("Beta")
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range ssoBody {
			m[key] = val
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"owner by default", with("default_role", "owner"), "default_role"},
		{"unknown role", with("default_role", "boss"), "default_role"},
		{"plain http issuer", with("issuer", "http://login.example.com"), "issuer"},
		{"no client id", with("client_id", ""), "client_id"},
		{"no secret at first", with("client_secret", ""), "client_secret"},
		{"bad domain", with("allowed_domains", []string{"not a domain"}), "allowed_domains[0]"},
	} {
		got := a.do("PUT", "/v1/organization/sso", tc.body, invalid)
		if got.status != 422 || !strings.Contains(strings.Join(got.problem(t).fields(), " "), tc.field) {
			t.Errorf("%s: %v, want 422 naming %s", tc.name, got, tc.field)
		}
	}
	if got := a.do("GET", "/v1/organization/sso", nil); got.status != 404 {
		t.Errorf("get before any put: %v, want 404", got)
	}
	got := a.do("PUT", "/v1/organization/sso", ssoBody)
	if got.status != 200 {
		t.Fatalf("put: %v", got)
	}
	if strings.Contains(string(got.body), ssoSecret) || got.obj(t)["client_secret_set"] != true {
		t.Errorf("put answered %s: want client_secret_set and never the secret", got.body)
	}
	v := got.obj(t)
	if v["default_role"] != "viewer" || v["enabled"] != true || v["redirect_uri"] != "https://bursar.example/sso/callback" ||
		v["sign_in_url"] != "https://bursar.example/sso/start?org="+a.org.ID {
		t.Errorf("put answered %s", got.body)
	}
	// Written back without the secret, the secret stays.
	a.must(200, "PUT", "/v1/organization/sso", map[string]any{"issuer": "https://login.example.com/acme", "client_id": "bursar-2",
		"enabled": false})
	cfg, err := e.st.GetSSOConfig(t.Context(), a.org.ID)
	if err != nil || cfg.ClientSecret != ssoSecret || cfg.ClientID != "bursar-2" || cfg.Enabled {
		t.Errorf("stored %+v (%v): want the secret kept, the rest replaced", cfg, err)
	}
	if got := a.do("GET", "/v1/organization/sso", nil); got.status != 200 || strings.Contains(string(got.body), ssoSecret) {
		t.Errorf("get: %v", got)
	}
	for _, en := range e.entries(t, a.org.ID) {
		if strings.HasPrefix(en.Action, "organization.sso") {
			for _, f := range en.Fields {
				if strings.Contains(string(f.Value), ssoSecret) {
					t.Errorf("audit entry %s holds the secret in %s", en.Action, f.Name)
				}
			}
		}
	}
	if n := countActions(e.entries(t, a.org.ID), "organization.sso_set"); n != 2 {
		t.Errorf("%d organization.sso_set entries, want 2", n)
	}
	if got := b.do("GET", "/v1/organization/sso", nil); got.status != 404 {
		t.Errorf("another organization's get: %v, want 404", got)
	}
	if got := b.do("DELETE", "/v1/organization/sso", nil); got.status != 404 {
		t.Errorf("another organization's delete: %v, want 404", got)
	}
	if got := a.with(e.key(a.org.ID, "organization:read")).do("PUT", "/v1/organization/sso", ssoBody); got.status != 403 {
		t.Errorf("put with a read-only key: %v, want 403", got)
	}

	// A signed-in owner needs an authentication of the last 5 minutes.
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	c.add(6 * time.Minute)
	for _, method := range []string{"PUT", "DELETE"} {
		if r := owner.do(method, "/v1/organization/sso", ssoBody); r.status != 403 || r.problem(t).Code != "reauthentication_required" {
			t.Errorf("%s after 6 minutes: %v, want 403 reauthentication_required", method, r)
		}
	}
	owner = e.signedInAs(owner.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword}))
	owner.must(200, "DELETE", "/v1/organization/sso", nil)
	if got := a.do("GET", "/v1/organization/sso", nil); got.status != 404 {
		t.Errorf("get after delete: %v, want 404", got)
	}
	if n := countActions(e.entries(t, a.org.ID), "organization.sso_deleted"); n != 1 {
		t.Errorf("%d organization.sso_deleted entries, want 1", n)
	}
}

// ssoScenario calls the single sign-on routes for the conformance
// scenario, which checks every request and answer against the document.
func ssoScenario(t *testing.T, a *tenant) {
	t.Helper()
	a.must(200, "PUT", "/v1/organization/sso", ssoBody)
	a.must(200, "GET", "/v1/organization/sso", nil)
	a.must(200, "DELETE", "/v1/organization/sso", nil)
}

func countActions(entries []*audit.Entry, action string) int {
	n := 0
	for _, en := range entries {
		if en.Action == action {
			n++
		}
	}
	return n
}
