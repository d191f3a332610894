package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"bursar/internal/api"
	"bursar/internal/audit"
	"bursar/internal/auth/mfa"
	"bursar/internal/auth/mfa/mfatest"
	"bursar/internal/store/sqlstore"
)

const (
	rpID     = "bursar.example"
	rpOrigin = "https://bursar.example"
)

// newMFA is the MFA service of the tests, sealing with the store's vault
// and recording its events in the audit log, as the server does.
func newMFA(t *testing.T, st *sqlstore.Store, l *audit.Log, now func() time.Time) *mfa.Service {
	t.Helper()
	wa, err := webauthn.New(&webauthn.Config{RPID: rpID, RPDisplayName: "Bursar", RPOrigins: []string{rpOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	return &mfa.Service{Store: st, Sealer: st.Vault(), WebAuthn: wa, Now: func() time.Time { return now() },
		Record: func(ctx context.Context, ev mfa.Event) error {
			return l.Append(ctx, ev.Entry(l.Keys.Hasher, audit.SystemTree))
		}}
}

// clock is a time the test moves, for every service of an env.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// withClock runs every service of the env on c.
func withClock(c *clock) func(*api.Deps) {
	return func(d *api.Deps) {
		d.Now, d.Identity.Now, d.MFA.Now = c.now, c.now, c.now
	}
}

// totpAt is the code of the secret at t.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cookieIn returns the session cookie a response sets.
func cookieIn(t *testing.T, r resp) string {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == api.SessionCookie && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("%v: no session cookie", r)
	return ""
}

// signedInAs is the browser of a response that started a session.
func (e *env) signedInAs(r resp) browser {
	e.t.Helper()
	if r.status != 200 {
		e.t.Fatalf("%v, want 200", r)
	}
	return browser{client: client{e: e}, cookie: cookieIn(e.t, r), csrf: r.obj(e.t)["csrf_token"].(string)}
}

// ceremonyOf decodes the options of a ceremony into v.
func ceremonyOf(t *testing.T, m map[string]any, v any) string {
	t.Helper()
	b, err := json.Marshal(m["options"])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	return m["ceremony_id"].(string)
}

// enrolTOTP turns TOTP on for the signed-in browser and returns the
// secret, the recovery codes and the time of the step it used.
func enrolTOTP(t *testing.T, b browser, at time.Time) (string, []string) {
	t.Helper()
	secret := b.must(201, "POST", "/v1/auth/mfa/totp", nil)["secret"].(string)
	raw := b.must(200, "POST", "/v1/auth/mfa/totp/confirm", map[string]any{"code": totpAt(t, secret, at)})["recovery_codes"].([]any)
	codes := make([]string, len(raw))
	for i, c := range raw {
		codes[i] = c.(string)
	}
	return secret, codes
}

// registerPasskey adds a passkey with a new software authenticator.
func registerPasskey(t *testing.T, b browser, userID string) (*mfatest.Authenticator, string) {
	t.Helper()
	var creation protocol.CredentialCreation
	id := ceremonyOf(t, b.must(200, "POST", "/v1/auth/mfa/passkeys/begin", nil), &creation)
	dev := mfatest.NewAuthenticator(t, rpID, rpOrigin)
	cred := string(dev.Create(t, &creation, []byte(userID)))
	p := b.must(201, "POST", "/v1/auth/mfa/passkeys/finish", map[string]any{"ceremony_id": id, "name": "Laptop", "credential": cred})
	return dev, p["passkey"].(map[string]any)["id"].(string)
}

// mfaScenario calls every route of second factors, for the conformance
// scenario: enrolment, each factor completing a sign-in, passkey sign-in,
// step-up, invitations and the organization's setting.
func mfaScenario(t *testing.T, e *env, a *tenant) {
	t.Helper()
	owner := e.login(a.org.Email, goodPassword)
	userID := owner.must(200, "GET", "/v1/auth/session", nil)["user"].(map[string]any)["id"].(string)
	if st := owner.must(200, "GET", "/v1/auth/mfa", nil); st["totp"] != false || st["passkeys_enabled"] != true {
		t.Errorf("factors before enrolment: %v", st)
	}
	secret, codes := enrolTOTP(t, owner, time.Now())
	if len(codes) != 10 {
		t.Errorf("recovery codes %v, want 10", codes)
	}
	dev, pkID := registerPasskey(t, owner, userID)
	owner.must(200, "GET", "/v1/auth/mfa/passkeys", nil)
	owner.must(200, "PATCH", "/v1/auth/mfa/passkeys/"+pkID, map[string]any{"name": "Work laptop"})

	inv := owner.must(201, "POST", "/v1/users", map[string]any{"email": "late@acme.example", "role": "viewer"})["id"].(string)
	if l := owner.must(200, "GET", "/v1/invitations", nil)["data"].([]any); len(l) == 0 {
		t.Errorf("pending invitations: none listed")
	}
	owner.must(204, "DELETE", "/v1/invitations/"+inv, nil)
	owner.must(404, "DELETE", "/v1/invitations/"+inv, nil)

	owner.must(200, "PUT", "/v1/organization/mfa", map[string]any{"required": true})
	if got := owner.must(200, "GET", "/v1/organization/mfa", nil); got["required"] != true {
		t.Errorf("organization mfa %v, want required", got)
	}
	owner.must(204, "POST", "/v1/auth/logout", nil)

	// Each factor completes a password sign-in.
	pending := e.login(a.org.Email, goodPassword)
	pending.must(401, "POST", "/v1/auth/login/totp", map[string]any{"code": "000000"})
	b := e.signedInAs(pending.do("POST", "/v1/auth/login/totp", map[string]any{"code": totpAt(t, secret, time.Now().Add(30*time.Second))}))
	b.must(200, "GET", "/v1/customers", nil)

	pending = e.login(a.org.Email, goodPassword)
	r := pending.do("POST", "/v1/auth/login/recovery-code", map[string]any{"code": codes[0]})
	if e.signedInAs(r); r.obj(t)["recovery_codes_remaining"] != float64(9) {
		t.Errorf("%v: want 9 recovery codes remaining", r)
	}

	pending = e.login(a.org.Email, goodPassword)
	var assertion protocol.CredentialAssertion
	id := ceremonyOf(t, pending.must(200, "POST", "/v1/auth/login/passkey/begin", nil), &assertion)
	b = e.signedInAs(pending.do("POST", "/v1/auth/login/passkey/finish", map[string]any{"ceremony_id": id,
		"credential": string(dev.Get(t, &assertion, 1))}))
	b.must(200, "GET", "/v1/auth/session", nil)

	// A passkey alone.
	nobody := client{e: e}
	id = ceremonyOf(t, nobody.must(200, "POST", "/v1/auth/passkey/begin", nil), &assertion)
	b = e.signedInAs(nobody.do("POST", "/v1/auth/passkey/finish", map[string]any{"ceremony_id": id,
		"credential": string(dev.Get(t, &assertion, 1))}))

	b = e.signedInAs(b.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword, "code": codes[1]}))
	b.must(200, "POST", "/v1/auth/mfa/recovery-codes", nil)
	b.must(200, "PUT", "/v1/organization/mfa", map[string]any{"required": false})
	b.must(204, "DELETE", "/v1/auth/mfa/passkeys/"+pkID, nil)
	b.must(204, "DELETE", "/v1/auth/mfa/totp", nil)
}

// A session that passed the password and waits for its second factor
// reaches the challenge routes and nothing else: every other route of the
// table answers 401 mfa_required, or is a sign-in route that takes no
// session at all (ASVS 5.0 6.4.x, 7.2.x).
func TestPendingSessionReachesNothingElse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	enrolTOTP(t, owner, time.Now())

	pending := e.login(a.org.Email, goodPassword)
	for _, rt := range api.Routes(e.h) {
		if rt.Public || rt.Resource == "(sign-in)" || rt.Resource == "(challenge)" {
			continue
		}
		path := strings.ReplaceAll(rt.Pattern, "{id}", "x_1")
		r := pending.do(rt.Method, path, nil, invalid)
		if r.status != 401 || r.problem(t).Code != "mfa_required" {
			t.Errorf("%s %s with a pending session: %v, want 401 mfa_required", rt.Method, path, r)
		}
	}
	// The challenge routes do serve it.
	pending.must(401, "POST", "/v1/auth/login/totp", map[string]any{"code": "123456"})
	pending.must(204, "POST", "/v1/auth/logout", nil)
}

// A member of an organization that requires a second factor, who has
// none, gets only their own account's routes until they enrol one.
func TestASVS_6_3_3_OrganizationRequiresEnrolment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	owner.must(200, "PUT", "/v1/organization/mfa", map[string]any{"required": true})
	r := owner.do("GET", "/v1/customers", nil)
	if r.status != 403 || r.problem(t).Code != "mfa_enrolment_required" {
		t.Fatalf("%v, want 403 mfa_enrolment_required", r)
	}
	owner.must(200, "GET", "/v1/auth/mfa", nil)
	enrolTOTP(t, owner, time.Now())
	owner.must(200, "GET", "/v1/customers", nil)
	// API keys are machines: the rule is for people.
	a.must(200, "GET", "/v1/customers", nil)
}

// Changing second factors and API keys asks for an authentication of the
// last five minutes; reauthenticate gives one (ASVS 5.0 7.5.1).
func TestASVS_7_5_1_StepUpForFactorsAndKeys(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	e := newEnv(t, withClock(c))
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	b := e.login(a.org.Email, goodPassword)
	c.add(6 * time.Minute)
	for _, call := range []struct{ method, path string }{
		{"POST", "/v1/auth/mfa/totp"}, {"POST", "/v1/auth/mfa/recovery-codes"}, {"POST", "/v1/auth/mfa/passkeys/begin"},
		{"DELETE", "/v1/auth/mfa/totp"}, {"POST", "/v1/api-keys"},
	} {
		var body any
		if call.path == "/v1/api-keys" {
			body = map[string]any{"name": "ci", "scopes": []string{"invoices:read"}}
		}
		r := b.do(call.method, call.path, body)
		if r.status != 403 || r.problem(t).Code != "reauthentication_required" {
			t.Errorf("%s %s after 6 minutes: %v, want 403 reauthentication_required", call.method, call.path, r)
		}
	}
	if r := b.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": "not my password at all"}); r.status != 401 {
		t.Errorf("reauthenticate with a wrong password: %v, want 401", r)
	}
	b = e.signedInAs(b.do("POST", "/v1/auth/reauthenticate", map[string]any{"password": goodPassword}))
	key := b.must(201, "POST", "/v1/api-keys", map[string]any{"name": "ci", "scopes": []string{"invoices:read"}})
	c.add(6 * time.Minute)
	if r := b.do("POST", "/v1/api-keys/"+key["id"].(string)+"/revoke", nil); r.status != 403 {
		t.Errorf("revoke a key after 6 minutes: %v, want 403", r)
	}
}

// Wrong second factors count in the sign-in throttle like wrong passwords:
// after the free attempts, the account must wait (ASVS 5.0 6.3.1).
func TestASVS_6_3_1_SecondFactorThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	enrolTOTP(t, owner, time.Now())
	pending := e.login(a.org.Email, goodPassword)
	for i := 1; i <= 8; i++ {
		r := pending.do("POST", "/v1/auth/login/totp", map[string]any{"code": "000000"})
		if r.status == 429 {
			if i <= 5 || r.header.Get("Retry-After") == "" {
				t.Errorf("attempt %d: %v; want the first 5 free and a Retry-After", i, r)
			}
			return
		}
		if r.status != 401 {
			t.Fatalf("attempt %d: %v, want 401", i, r)
		}
	}
	t.Error("8 wrong codes in a row were never throttled")
}
