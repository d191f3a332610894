package web_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/pquerna/otp/totp"

	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/auth/sso"
	"bursar/internal/errs"
	"bursar/internal/server"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
	"bursar/internal/vault"
	"bursar/internal/web"
)

// ssoEnv is env with an identity provider: mockoidc, started in the test,
// on a loopback address that the server may reach (OAuthPrivateNetworks),
// and a log that keeps why each sign-in was refused.
type ssoEnv struct {
	*env
	idp *mockoidc.MockOIDC
	log *syncBuffer
	sso *sso.Service // the server's, for a test that reaches the provider its own way
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	kek, err := vault.EphemeralKEK()
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bursar.db"), sqlstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	buf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := server.New(server.Config{Addr: ln.Addr().String(), OAuthPrivateNetworks: true,
		Identity: server.IdentityConfig{PublicURL: base, Sealer: st.Vault()},
		Guard:    server.GuardConfig{RateLimits: testLimits()}}, st, log, time.Now)
	ids := srv.Identity()
	e := &env{t: t, st: st, identity: ids.Identity, mfa: ids.MFA, base: base,
		portal: web.New(web.Deps{Identity: ids.Identity, MFA: ids.MFA, SSO: ids.SSO, Orgs: st})}
	e.srv = httptest.NewUnstartedServer(srv.Handler())
	e.srv.Listener.Close()
	e.srv.Listener = ln
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.org = e.newOrg("Acme GmbH")

	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	return &ssoEnv{env: e, idp: idp, log: buf, sso: ids.SSO}
}

// configure gives the organization single sign-on with the test's
// provider.
func (s *ssoEnv) configure(orgID string, edit func(c *sso.Config)) {
	s.t.Helper()
	c := &sso.Config{OrgID: orgID, Issuer: s.idp.Issuer(), ClientID: s.idp.ClientID, ClientSecret: s.idp.ClientSecret,
		CreateMembers: true, DefaultRole: auth.RoleViewer, Enabled: true, UpdatedAt: time.Now()}
	if edit != nil {
		edit(c)
	}
	if err := s.st.PutSSOConfig(ctx, c); err != nil {
		s.t.Fatal(err)
	}
}

// idpUser is the person the provider signs in, with the flaws a test
// gives the ID token it issues for them.
type idpUser struct {
	email    string
	verified any
	aud      []string
	nonce    string
}

func (u *idpUser) ID() string { return "sub-" + u.email }

func (u *idpUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.ID(), "email": u.email})
}

// idTokenClaims embeds mockoidc's claims (and so the JWT's registered
// ones) and adds the user's.
type idTokenClaims struct {
	*mockoidc.IDTokenClaims
	Email         string `json:"email,omitempty"`
	EmailVerified any    `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
}

func (u *idpUser) Claims(_ []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.aud != nil {
		c.Audience = u.aud
	}
	if u.nonce != "" {
		c.Nonce = u.nonce
	}
	verified := u.verified
	if verified == nil {
		verified = true
	}
	return &idTokenClaims{IDTokenClaims: c, Email: u.email, EmailVerified: verified, Name: "Someone"}, nil
}

// run goes through the flow as a browser would: the portal's start, the
// provider's (auto-approving) authorization, and back to the callback,
// whose answer it returns. between runs after the provider answered and
// before the callback; it may change the callback's URL.
// start does what a member does with the link their organization gives
// them: opens it (the single sign-on page, the organization filled in) and
// presses the button, which posts the form with its anti-CSRF token.
func (s *ssoEnv) start(c *client, orgID, next string) *http.Response {
	s.t.Helper()
	link := "/sso/start?org=" + url.QueryEscape(orgID)
	if next != "" {
		link += "&next=" + url.QueryEscape(next)
	}
	body, tok := c.page(link)
	if !strings.Contains(body, `value="`+orgID+`"`) || tok == "" {
		s.t.Fatalf("the link %s shows no form with the organization filled in", link)
	}
	return c.do(http.MethodPost, "/sso/start", map[string]string{"csrf_token": tok, "org": orgID, "next": next},
		map[string]string{"Sec-Fetch-Site": "same-origin"})
}

func (s *ssoEnv) run(c *client, orgID string, u *idpUser, between func(cb *url.URL)) *http.Response {
	s.t.Helper()
	if u != nil {
		s.idp.QueueUser(u)
	}
	res := s.start(c, orgID, "/sessions")
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("start: status %d, want 303", res.StatusCode)
	}
	authURL, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		s.t.Fatal(err)
	}
	q := authURL.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		s.t.Fatalf("authorization request %s lacks PKCE S256, nonce or state", authURL)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noRedirect.Get(authURL.String())
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	cb, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound || cb.Path != sso.CallbackPath {
		s.t.Fatalf("provider: status %d, location %q, want 302 to the callback", res.StatusCode, res.Header.Get("Location"))
	}
	if between != nil {
		between(cb)
	}
	return c.do(http.MethodGet, cb.RequestURI(), nil, nil)
}

// refused checks that an answer refused the sign-in for the reason, with
// no session.
func (s *ssoEnv) refused(c *client, res *http.Response, reason string) {
	s.t.Helper()
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		s.t.Errorf("callback: status %d, want 401", res.StatusCode)
	}
	if c.cookies[auth.SessionCookie] != "" {
		s.t.Errorf("a refused sign-in set a session cookie")
	}
	if !strings.Contains(s.log.String(), reason) {
		s.t.Errorf("the log does not say %q:\n%s", reason, s.log.String())
	}
}

func (s *ssoEnv) noUser(email string) {
	s.t.Helper()
	if _, err := s.st.GetUserByEmail(ctx, email); errs.KindOf(err) != errs.NotFound {
		s.t.Errorf("user %s: err %v, want not found: a refused sign-in made a user", email, err)
	}
}

func (s *ssoEnv) noSession(u *auth.User) {
	s.t.Helper()
	list, err := s.st.ListUserSessions(ctx, u.ID, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	if len(list) != 0 {
		s.t.Errorf("%s has %d sessions after a refused sign-in", u.Email, len(list))
	}
}

func TestSSOSignInCreatesMember(t *testing.T) {
	s := newSSOEnv(t)
	s.configure(s.org.ID, func(c *sso.Config) { c.AllowedDomains = []string{"acme.example"} })
	c := s.client()
	res := s.run(c, s.org.ID, &idpUser{email: "New.Person@Acme.Example"}, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sessions" {
		t.Fatalf("callback: status %d to %q, want 303 to /sessions", res.StatusCode, res.Header.Get("Location"))
	}
	if c.cookies[auth.SessionCookie] == "" {
		t.Fatal("no session cookie")
	}
	u, err := s.st.GetUserByEmail(ctx, "new.person@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.st.GetMembership(ctx, s.org.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Role != auth.RoleViewer || u.PasswordHash != "" || u.Email != "new.person@acme.example" {
		t.Errorf("member %+v, user %s: want a viewer, no password, the email in lower case", m, u.Email)
	}
	body, _ := c.page("/sessions")
	if !strings.Contains(body, "Sign out") {
		t.Error("the session does not reach the account's pages")
	}
	if _, ok := c.cookies["__Host-bursar_sso"]; ok {
		t.Error("the flow's cookie outlived the callback")
	}

	// The same person signs in again as the member they now are.
	c2 := s.client()
	res = s.run(c2, s.org.ID, &idpUser{email: "new.person@acme.example"}, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || c2.cookies[auth.SessionCookie] == "" {
		t.Fatalf("second sign-in: status %d", res.StatusCode)
	}
}

func TestSSOSignInExistingMemberAndSecondFactor(t *testing.T) {
	s := newSSOEnv(t)
	s.configure(s.org.ID, func(c *sso.Config) { c.CreateMembers = false })
	ann := s.user("ann@acme.example", "Ann", auth.RoleAccountant)
	c := s.client()
	res := s.run(c, s.org.ID, &idpUser{email: "ANN@acme.example"}, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || c.cookies[auth.SessionCookie] == "" {
		t.Fatalf("callback: status %d, want 303 and a session", res.StatusCode)
	}
	sess, u, err := s.identity.Resume(ctx, c.cookies[auth.SessionCookie])
	if err != nil || u.ID != ann.ID || sess.State != auth.SessionActive {
		t.Fatalf("session %+v of %+v (%v), want Ann's, active", sess, u, err)
	}

	// With a second factor, the provider's word is not enough: the session
	// waits for Bursar's factor, as after a password.
	enr, err := s.mfa.BeginTOTP(ctx, mfa.Account{UserID: ann.ID, Email: ann.Email, Name: ann.Name})
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(enr.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.mfa.ConfirmTOTP(ctx, ann.ID, code); err != nil {
		t.Fatal(err)
	}
	c2 := s.client()
	res = s.run(c2, s.org.ID, &idpUser{email: "ann@acme.example"}, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin/mfa") {
		t.Fatalf("callback: status %d to %q, want 303 to /signin/mfa", res.StatusCode, res.Header.Get("Location"))
	}
	sess, _, err = s.identity.Resume(ctx, c2.cookies[auth.SessionCookie])
	if err != nil || sess.State != auth.SessionMFAPending {
		t.Fatalf("session %+v (%v), want one waiting for the second factor", sess, err)
	}
	res = c2.do(http.MethodGet, "/sessions", nil, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin/mfa" {
		t.Errorf("a pending session reached /sessions: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestSSOSignInRefused(t *testing.T) {
	s := newSSOEnv(t)
	s.configure(s.org.ID, func(c *sso.Config) { c.AllowedDomains = []string{"acme.example"} })
	ann := s.user("ann@acme.example", "Ann", auth.RoleAdmin)

	t.Run("wrong state", func(t *testing.T) {
		c := s.client()
		res := s.run(c, s.org.ID, &idpUser{email: ann.Email}, func(cb *url.URL) {
			q := cb.Query()
			q.Set("state", "forged-"+q.Get("state"))
			cb.RawQuery = q.Encode()
		})
		s.refused(c, res, "unknown or used state")
		s.noSession(ann)
	})
	t.Run("another browser", func(t *testing.T) {
		// Login CSRF: the answer to the attacker's flow, delivered to the
		// victim's browser, which has a flow of its own.
		attacker, victim := s.client(), s.client()
		var stolen url.URL
		res := s.run(attacker, s.org.ID, &idpUser{email: ann.Email}, func(cb *url.URL) {
			stolen = *cb
			cb.RawQuery = "state=not-used&code=not-used" // the attacker keeps the answer
		})
		res.Body.Close()
		res = s.start(victim, s.org.ID, "")
		res.Body.Close()
		res = victim.do(http.MethodGet, stolen.RequestURI(), nil, nil)
		s.refused(victim, res, "the state belongs to another browser")
		// Without any cookie of the flow, the same.
		res = s.client().do(http.MethodGet, stolen.RequestURI(), nil, nil)
		s.refused(victim, res, "lacks a state, a code or the browser's cookie")
		s.noSession(ann)
	})
	t.Run("replayed code", func(t *testing.T) {
		dora := s.user("dora@acme.example", "Dora", auth.RoleViewer) // signs in once, for real
		c := s.client()
		var first *url.URL
		res := s.run(c, s.org.ID, &idpUser{email: dora.Email}, func(cb *url.URL) { first = cb })
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("first use: status %d", res.StatusCode)
		}
		// The same answer again, cookie and all: the state was taken.
		c2 := s.client()
		c2.cookies["__Host-bursar_sso"] = "whatever"
		res = c2.do(http.MethodGet, first.RequestURI(), nil, nil)
		s.refused(c2, res, "unknown or used state")
		// The code under a fresh flow's state: the provider refuses it.
		c3 := s.client()
		res = s.run(c3, s.org.ID, &idpUser{email: dora.Email}, func(cb *url.URL) {
			q := cb.Query()
			q.Set("code", first.Query().Get("code"))
			cb.RawQuery = q.Encode()
		})
		s.refused(c3, res, "code exchange")
	})

	cases := []struct {
		name, reason string
		user         *idpUser
		before       func()
		after        func()
	}{
		{name: "wrong nonce", reason: "nonce is not the flow's", user: &idpUser{email: ann.Email, nonce: "replayed-nonce"}},
		{name: "expired token", reason: "token is expired", user: &idpUser{email: ann.Email},
			before: func() { s.idp.FastForward(-time.Hour) }, after: func() { s.idp.FastForward(time.Hour) }},
		{name: "token for another client", reason: "expected audience", user: &idpUser{email: ann.Email, aud: []string{"another-client"}}},
		{name: "unverified email", reason: "not verified", user: &idpUser{email: ann.Email, verified: false}},
		{name: "unverified email as text", reason: "not verified", user: &idpUser{email: ann.Email, verified: "false"}},
		{name: "disallowed domain", reason: "domain is not allowed", user: &idpUser{email: "eve@elsewhere.example"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.client()
			res := s.run(c, s.org.ID, tc.user, func(*url.URL) {
				if tc.before != nil {
					tc.before()
				}
			})
			if tc.after != nil {
				tc.after()
			}
			s.refused(c, res, tc.reason)
			s.noSession(ann)
			s.noUser("eve@elsewhere.example")
		})
	}

	t.Run("disabled", func(t *testing.T) {
		// Disabled while the user is at the provider: the answer is refused.
		c := s.client()
		res := s.run(c, s.org.ID, &idpUser{email: ann.Email}, func(*url.URL) {
			s.configure(s.org.ID, func(c *sso.Config) { c.Enabled = false })
		})
		s.refused(c, res, "is disabled")
		s.noSession(ann)
		// And no flow starts.
		res = s.start(c, s.org.ID, "")
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("start while disabled: status %d, want 404", res.StatusCode)
		}
		s.configure(s.org.ID, func(c *sso.Config) { c.AllowedDomains = []string{"acme.example"} })
	})
	t.Run("another organization", func(t *testing.T) {
		// Bob belongs to another organization only. Acme's provider, which
		// Acme's administrators control, asserts his address: refused,
		// though Acme creates members.
		other := s.newOrg("Other Ltd")
		bob := s.user("bob@acme.example", "Bob", auth.RoleViewer)
		if err := s.st.DeleteMembership(ctx, s.org.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.st.InsertMembership(ctx, &auth.Membership{OrgID: other.ID, UserID: bob.ID, Role: auth.RoleOwner, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		c := s.client()
		res := s.run(c, s.org.ID, &idpUser{email: bob.Email}, nil)
		s.refused(c, res, "belongs to another organization")
		s.noSession(bob)
		if _, err := s.st.GetMembership(ctx, s.org.ID, bob.ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("Bob became a member of Acme: %v", err)
		}
		// The other organization has no single sign-on: none starts.
		res = s.start(c, other.ID, "")
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("start for an organization without single sign-on: status %d, want 404", res.StatusCode)
		}
	})
	t.Run("not a member, no creation", func(t *testing.T) {
		s.configure(s.org.ID, func(c *sso.Config) { c.CreateMembers = false })
		c := s.client()
		res := s.run(c, s.org.ID, &idpUser{email: "carol@acme.example"}, nil)
		s.refused(c, res, "does not create members")
		s.noUser("carol@acme.example")
	})
}

// Following a link to the start of single sign-on starts nothing: another
// site could send a browser there while the user's session at the provider
// is live. Only the posted form, with its anti-CSRF token, sends the browser
// to the provider.
func TestASVS_7_6_2_SSOStartsOnlyByTheUsersAction(t *testing.T) {
	s := newSSOEnv(t)
	s.configure(s.org.ID, func(*sso.Config) {})
	c := s.client()
	res := c.do(http.MethodGet, "/sso/start?org="+url.QueryEscape(s.org.ID), nil, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Location") != "" {
		t.Fatalf("GET of the start link: status %d, Location %q; want the page, no redirect", res.StatusCode, res.Header.Get("Location"))
	}
	// A form posted from another site, or without the token: refused.
	for name, h := range map[string]map[string]string{
		"cross-site": {"Sec-Fetch-Site": "cross-site"},
		"no token":   {"Sec-Fetch-Site": "same-origin"},
	} {
		form := map[string]string{"org": s.org.ID}
		if name == "cross-site" {
			_, tok := c.page("/sso")
			form["csrf_token"] = tok
		}
		res := c.do(http.MethodPost, "/sso/start", form, h)
		res.Body.Close()
		if res.StatusCode == http.StatusSeeOther {
			t.Errorf("%s: the flow started (303 to %s)", name, res.Header.Get("Location"))
		}
	}
	// The user's own click does.
	res = s.start(c, s.org.ID, "")
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("posted form: status %d, want 303 to the provider", res.StatusCode)
	}
}
