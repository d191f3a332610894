package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"bursar/internal/api"
	"bursar/internal/auth"
	"bursar/internal/store/sqlstore"
)

// idp is an identity provider on a local port: an OpenID discovery
// document and a JWKS with an RSA and an EC key, and a signer of tokens.
type idp struct {
	srv       *httptest.Server
	rsaKey    *rsa.PrivateKey
	ecKey     *ecdsa.PrivateKey
	jwksFetch atomic.Int32
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	p := &idp{}
	var err error
	if p.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if p.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks",
			"authorization_endpoint": p.srv.URL + "/auth", "token_endpoint": p.srv.URL + "/token"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.jwksFetch.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &p.rsaKey.PublicKey, KeyID: "rsa1", Algorithm: "RS256", Use: "sig"},
			{Key: &p.ecKey.PublicKey, KeyID: "ec1", Algorithm: "ES256", Use: "sig"},
		}})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// sign signs claims with the key and algorithm, naming kid.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// claims are a valid token's claims for the audience.
func (p *idp) claims(aud string, extra map[string]any) map[string]any {
	c := map[string]any{"iss": p.srv.URL, "sub": "client-42", "aud": aud,
		"iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// withTokens wires the API with a verifier that may reach the local
// identity provider.
func withTokens(d *api.Deps) {
	st := d.Orgs.(*sqlstore.Store)
	d.Tokens = &auth.TokenVerifier{Store: st, Now: time.Now, HTTPClient: &http.Client{Timeout: 5 * time.Second}}
	d.OAuthProviders = st
}

// OAuth 2.0 bearer tokens (issue 3 §5): an organization configures its
// identity provider through the API; a valid token from it gets the scopes
// its claims map to, in that organization only; every kind of bad token is
// refused with the same 401.
func TestOAuthBearerTokens(t *testing.T) {
	e := newEnv(t, withTokens)
	p := newIDP(t)
	a, b := e.tenant("Alpha"), e.tenant("Beta")

	// Alpha names a JWKS URL and maps a role; Beta discovers the keys
	// from the issuer and takes scopes from the scope claim.
	got := a.do("PUT", "/v1/organization/oauth", map[string]any{"issuer": p.srv.URL, "audience": "bursar-alpha",
		"jwks_url": p.srv.URL + "/jwks", "scope_claim": "scope", "role_claim": "bursar_role",
		"roles": []map[string]any{{"value": "billing", "scopes": []string{"customers:write", "invoices:write"}}}})
	if got.status != 200 {
		t.Fatalf("put Alpha's provider: %v", got)
	}
	if algs := got.obj(t)["algorithms"]; len(algs.([]any)) != 2 {
		t.Errorf("default algorithms %v, want RS256 and ES256", algs)
	}
	if got := b.do("PUT", "/v1/organization/oauth", map[string]any{"issuer": p.srv.URL, "audience": "bursar-beta",
		"algorithms": []string{"ES256"}, "scope_claim": "scope"}); got.status != 200 {
		t.Fatalf("put Beta's provider: %v", got)
	}
	bCustomer := b.do("POST", "/v1/customers", map[string]any{"name": "Beta's customer", "email": "c@beta.example"})
	if bCustomer.status != 201 {
		t.Fatalf("create Beta's customer: %v", bCustomer)
	}
	bCustomerID := bCustomer.obj(t)["id"].(string)

	alpha := sign(t, jose.RS256, p.rsaKey, "rsa1", p.claims("bursar-alpha", map[string]any{"bursar_role": "billing"}))
	t.Run("valid token gets its role's scopes", func(t *testing.T) {
		c := a.with(alpha)
		created := c.do("POST", "/v1/customers", map[string]any{"name": "Made by a machine", "email": "m@alpha.example"})
		if created.status != 201 {
			t.Fatalf("create with a token: %v", created)
		}
		if got := c.do("GET", "/v1/customers", nil); got.status != 200 || !strings.Contains(string(got.body), "Made by a machine") {
			t.Errorf("list with a token: %v", got)
		}
		if got := c.do("GET", "/v1/api-keys", nil); got.status != 403 || got.problem(t).Code != "insufficient_scope" {
			t.Errorf("a route outside the role's scopes: %v, want 403 insufficient_scope", got)
		}
	})
	t.Run("scope claim: only Bursar scopes count", func(t *testing.T) {
		tok := sign(t, jose.ES256, p.ecKey, "ec1", p.claims("bursar-beta", map[string]any{"scope": "openid profile customers:read"}))
		c := b.with(tok)
		if got := c.do("GET", "/v1/customers/"+bCustomerID, nil); got.status != 200 {
			t.Errorf("read with customers:read: %v", got)
		}
		if got := c.do("POST", "/v1/customers", map[string]any{"name": "X"}); got.status != 403 {
			t.Errorf("write with customers:read: %v, want 403", got)
		}
	})
	t.Run("a token of one organization cannot reach another's data", func(t *testing.T) {
		c := a.with(alpha)
		if got := c.do("GET", "/v1/customers/"+bCustomerID, nil); got.status != 404 || strings.Contains(string(got.body), "Beta's customer") {
			t.Errorf("Alpha's token reading Beta's customer: %v, want 404", got)
		}
		if got := c.do("GET", "/v1/customers", nil); strings.Contains(string(got.body), "Beta's customer") {
			t.Errorf("Alpha's token lists Beta's customer: %v", got)
		}
		// Alpha's role claim means nothing to Beta, whose configuration
		// reads the scope claim only: the same IdP's token for Beta's
		// audience with a role gets no scopes there.
		tok := sign(t, jose.ES256, p.ecKey, "ec1", p.claims("bursar-beta", map[string]any{"bursar_role": "billing"}))
		if got := b.with(tok).do("GET", "/v1/customers", nil); got.status != 403 {
			t.Errorf("Beta's audience with Alpha's role claim: %v, want 403", got)
		}
	})

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&p.rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	role := map[string]any{"bursar_role": "billing"}
	claimsWith := func(change map[string]any) map[string]any {
		c := p.claims("bursar-alpha", role)
		for k, v := range change {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	tampered := func() string {
		parts := strings.Split(alpha, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload = []byte(strings.Replace(string(payload), `"client-42"`, `"client-43"`, 1))
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	}
	none := func() string {
		head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		body, _ := json.Marshal(p.claims("bursar-alpha", role))
		return head + "." + base64.RawURLEncoding.EncodeToString(body) + "."
	}
	// HS256 keyed with the provider's public key: the classic confusion
	// of a verifier that lets the token choose the algorithm.
	hs256 := sign(t, jose.HS256, pubPEM, "rsa1", p.claims("bursar-alpha", role))
	hs256DER := sign(t, jose.HS256, pubDER, "rsa1", p.claims("bursar-alpha", role))
	for _, tc := range []struct{ name, token string }{
		{"wrong audience", sign(t, jose.RS256, p.rsaKey, "rsa1", claimsWith(map[string]any{"aud": "someone-else"}))},
		{"expired", sign(t, jose.RS256, p.rsaKey, "rsa1", claimsWith(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}))},
		{"no expiry", sign(t, jose.RS256, p.rsaKey, "rsa1", claimsWith(map[string]any{"exp": nil}))},
		{"not yet valid", sign(t, jose.RS256, p.rsaKey, "rsa1", claimsWith(map[string]any{"nbf": time.Now().Add(time.Hour).Unix()}))},
		{"wrong issuer", sign(t, jose.RS256, p.rsaKey, "rsa1", claimsWith(map[string]any{"iss": "https://evil.example"}))},
		{"alg none", none()},
		{"HS256 with the public key as secret (PEM)", hs256},
		{"HS256 with the public key as secret (DER)", hs256DER},
		{"unknown kid", sign(t, jose.RS256, other, "rsa9", claimsWith(nil))},
		{"known kid, other key", sign(t, jose.RS256, other, "rsa1", claimsWith(nil))},
		{"algorithm not allowed for Beta", sign(t, jose.RS256, p.rsaKey, "rsa1", p.claims("bursar-beta", map[string]any{"scope": "read"}))},
		{"tampered payload", tampered()},
		{"garbage", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			got := a.with(tc.token).do("GET", "/v1/customers", nil, invalid)
			if got.status != 401 {
				t.Fatalf("%v, want 401", got)
			}
			pr := got.problem(t)
			if pr.Code != "unauthenticated" || pr.Detail != "a valid API key or bearer token is required" {
				t.Errorf("problem %+v: want the one generic refusal", pr)
			}
		})
	}
	t.Run("unknown key ids do not make the server fetch the keys each time", func(t *testing.T) {
		before := p.jwksFetch.Load()
		for i := range 5 {
			tok := sign(t, jose.RS256, other, "made-up-"+string(rune('a'+i)), claimsWith(nil))
			if got := a.with(tok).do("GET", "/v1/customers", nil, invalid); got.status != 401 {
				t.Fatalf("%v", got)
			}
		}
		if n := p.jwksFetch.Load() - before; n > 0 {
			t.Errorf("%d key set fetches for 5 unknown key ids within the refresh interval, want 0", n)
		}
	})
	t.Run("an API key still works beside tokens", func(t *testing.T) {
		if got := a.do("GET", "/v1/customers", nil); got.status != 200 {
			t.Errorf("%v", got)
		}
	})
	t.Run("a deleted provider's tokens are refused at once", func(t *testing.T) {
		if got := a.do("DELETE", "/v1/organization/oauth", nil); got.status != 200 {
			t.Fatalf("delete: %v", got)
		}
		if got := a.with(alpha).do("GET", "/v1/customers", nil, invalid); got.status != 401 {
			t.Errorf("after delete: %v, want 401", got)
		}
		if got := a.do("GET", "/v1/organization/oauth", nil); got.status != 404 {
			t.Errorf("get after delete: %v, want 404", got)
		}
	})
}

// The provider's configuration is checked: algorithm allow-list (never
// none or HS*), URLs, claims, role scopes; and an issuer and audience pair
// belongs to one organization.
func TestOAuthProviderSettings(t *testing.T) {
	e := newEnv(t, withTokens)
	a, b := e.tenant("Alpha"), e.tenant("Beta")
	ok := map[string]any{"issuer": "https://idp.example.com", "audience": "bursar", "scope_claim": "scope"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range ok {
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
		{"alg none", with("algorithms", []string{"none"}), "algorithms[0]"},
		{"HS256", with("algorithms", []string{"RS256", "HS256"}), "algorithms[1]"},
		{"plain http issuer", with("issuer", "http://idp.example.com"), "issuer"},
		{"jwks over http", with("jwks_url", "http://idp.example.com/jwks"), "jwks_url"},
		{"no audience", with("audience", ""), "audience"},
		{"no claim", with("scope_claim", ""), "scope_claim"},
		{"roles without role claim", with("roles", []map[string]any{{"value": "x", "scopes": []string{"read"}}}), "role_claim"},
		{"role with a bad scope", map[string]any{"issuer": "https://idp.example.com", "audience": "bursar", "role_claim": "r",
			"roles": []map[string]any{{"value": "x", "scopes": []string{"everything"}}}}, "roles[0].scopes[0]"},
	} {
		got := a.do("PUT", "/v1/organization/oauth", tc.body, invalid)
		if got.status != 422 || !strings.Contains(strings.Join(got.problem(t).fields(), " "), tc.field) {
			t.Errorf("%s: %v, want 422 naming %s", tc.name, got, tc.field)
		}
	}
	if got := a.do("PUT", "/v1/organization/oauth", ok); got.status != 200 {
		t.Fatalf("put: %v", got)
	}
	if got := b.do("PUT", "/v1/organization/oauth", ok); got.status != 409 || got.problem(t).Code != "oauth_provider_taken" {
		t.Errorf("another organization with the same issuer and audience: %v, want 409", got)
	}
	if got := a.with(e.key(a.org.ID, "organization:read")).do("PUT", "/v1/organization/oauth", ok); got.status != 403 {
		t.Errorf("put with a read-only key: %v, want 403", got)
	}
	got := a.do("GET", "/v1/organization/oauth", nil)
	if got.status != 200 || got.obj(t)["issuer"] != "https://idp.example.com" {
		t.Errorf("get: %v", got)
	}
	if got := b.do("GET", "/v1/organization/oauth", nil); got.status != 404 {
		t.Errorf("another organization's get: %v, want 404", got)
	}
}

// oauthScenario calls the identity provider's routes for the conformance
// scenario, which checks every request and answer against the document.
func oauthScenario(t *testing.T, a *tenant) {
	t.Helper()
	a.must(200, "PUT", "/v1/organization/oauth", map[string]any{"issuer": "https://idp.example.com/tenant", "audience": "bursar",
		"algorithms": []string{"ES256"}, "role_claim": "bursar_role",
		"roles": []map[string]any{{"value": "billing", "scopes": []string{"invoices:write"}}}})
	a.must(200, "GET", "/v1/organization/oauth", nil)
	a.must(200, "DELETE", "/v1/organization/oauth", nil)
}
