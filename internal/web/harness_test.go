package web_test

import (
	"context"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/auth/password"
	"bursar/internal/guard"
	"bursar/internal/ident"
	"bursar/internal/notify/mail"
	"bursar/internal/notify/mail/mailtest"
	"bursar/internal/org"
	"bursar/internal/party"
	"bursar/internal/server"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
	"bursar/internal/web"
)

var ctx = context.Background()

const goodPassword = "correct horse battery staple 42"

// env is the real server (server.New, the portal at "/") over a fresh
// SQLite database, served on a loopback port and reached as http://localhost:PORT. Chromium treats localhost as a
// secure context: it keeps the __Host- cookies, which must be Secure, and
// allows WebAuthn with "localhost" as the relying party id, which it would
// refuse on a page with a certificate error (docs/portal.md).
type env struct {
	t        *testing.T
	st       *sqlstore.Store
	identity *auth.Identity
	mfa      *mfa.Service
	mail     *mailtest.Server
	portal   *web.Handler
	srv      *httptest.Server
	base     string
	org      *org.Organization
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the server's configuration changed by edit.
func newEnvWith(t *testing.T, edit func(*server.Config)) *env {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	box := mailtest.NewServer(t, mailtest.Options{})
	sender, err := mail.New("smtp://"+box.Addr+"?from=bursar@example.com", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// The real server: the WAF, rate limits and security headers in front
	// of the portal, and the identity and MFA services it wires.
	cfg := server.Config{Addr: ln.Addr().String(), Identity: server.IdentityConfig{PublicURL: base, Mail: sender},
		Guard: server.GuardConfig{RateLimits: testLimits()}}
	if edit != nil {
		edit(&cfg)
	}
	srv := server.New(cfg, st, slog.New(slog.DiscardHandler), time.Now)
	ids := srv.Identity()
	e := &env{t: t, st: st, identity: ids.Identity, mfa: ids.MFA, mail: box, base: base,
		portal: web.New(web.Deps{Identity: ids.Identity, MFA: ids.MFA, Orgs: st})} // for its route table
	e.srv = httptest.NewUnstartedServer(srv.Handler())
	e.srv.Listener.Close()
	e.srv.Listener = ln
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.org = e.newOrg("Acme GmbH")
	return e
}

func (e *env) newOrg(name string) *org.Organization {
	e.t.Helper()
	o, err := org.New(org.Input{Name: name, Email: "billing@acme.example", DefaultCurrency: "EUR",
		TimeZone: "Europe/Berlin", Address: party.Address{Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		VATID: "DE123456789"}, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.InsertOrganization(ctx, o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// user makes a member of the env's organization with goodPassword.
func (e *env) user(email, name string, role auth.Role) *auth.User {
	e.t.Helper()
	h, err := password.Hash(goodPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now().UTC()
	u := &auth.User{ID: ident.New("usr", now), Email: email, Name: name, CreatedAt: now, PasswordHash: h}
	if err := e.st.InsertUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.InsertMembership(ctx, &auth.Membership{OrgID: e.org.ID, UserID: u.ID, Role: role, CreatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	return u
}

var linkRE = regexp.MustCompile(`https?://\S+\?token=[A-Za-z0-9_-]{43}`)

// link returns the link in the last mail to the address, as the mail
// server received it.
func (e *env) link(to string) string {
	e.t.Helper()
	e.identity.Flush()
	msgs := e.mail.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].To) != 1 || msgs[i].To[0] != to {
			continue
		}
		m, err := netmail.ReadMessage(strings.NewReader(string(msgs[i].Data)))
		if err != nil {
			e.t.Fatal(err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
		if err != nil {
			e.t.Fatal(err)
		}
		if l := linkRE.FindString(string(body)); l != "" {
			return l
		}
	}
	e.t.Fatalf("no mail with a link to %s", to)
	return ""
}

// client is a browser without a browser: a cookie jar that sends what a
// same-origin form would.
type client struct {
	e       *env
	cookies map[string]string
}

func (e *env) client() *client { return &client{e: e, cookies: map[string]string{}} }

func (c *client) do(method, path string, form map[string]string, header map[string]string) *http.Response {
	c.e.t.Helper()
	var body io.Reader
	vals := make([]string, 0, len(form))
	for k, v := range form {
		vals = append(vals, k+"="+urlQuery(v))
	}
	if method == http.MethodPost {
		body = strings.NewReader(strings.Join(vals, "&"))
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return res
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "=", "%3D", " ", "+").Replace(s)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// page GETs a page and returns its body and the token of its forms.
func (c *client) page(path string) (string, string) {
	c.e.t.Helper()
	res := c.do(http.MethodGet, path, nil, nil)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		c.e.t.Fatalf("GET %s = %d, want 200", path, res.StatusCode)
	}
	m := csrfRE.FindStringSubmatch(string(b))
	if m == nil {
		return string(b), ""
	}
	return string(b), m[1]
}

// signIn signs the client in with the password.
func (c *client) signIn(email string) {
	c.e.t.Helper()
	_, tok := c.page("/signin")
	res := c.do(http.MethodPost, "/signin", map[string]string{"csrf_token": tok, "email": email, "password": goodPassword},
		map[string]string{"Sec-Fetch-Site": "same-origin"})
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || c.cookies[auth.SessionCookie] == "" {
		c.e.t.Fatalf("sign in = %d, cookie %q", res.StatusCode, c.cookies[auth.SessionCookie])
	}
}

// testLimits are the guard's default rate limits but for sign-in, which a
// test does dozens of times a minute from one address (the sign-in budget
// itself is tested in internal/guard and internal/server; the identity
// service's own throttle still applies).
func testLimits() *guard.Limits {
	l := guard.DefaultLimits()
	many := guard.Limit{Requests: 10000, Period: time.Minute, Burst: 10000}
	l.SignIn.Address, l.SignIn.Account = many, many
	return &l
}
