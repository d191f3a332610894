package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"bursar/internal/errs"
)

// maxBearerToken bounds a JWT that is parsed at all.
const maxBearerToken = 8 << 10

// LooksLikeJWT reports whether a bearer token has the form of a signed JWT
// (three base64url parts, a JSON header naming an algorithm): such a token
// is an OAuth access token, anything else is taken for an API key.
func LooksLikeJWT(token string) bool {
	if len(token) > maxBearerToken || strings.Count(token, ".") != 2 {
		return false
	}
	head, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	return json.Unmarshal(b, &h) == nil && h.Alg != ""
}

// unverifiedClaims reads the issuer and audiences of a token without
// checking its signature: they only choose the provider that then verifies
// it fully.
func unverifiedClaims(token string) (iss string, aud []string, ok bool) {
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", nil, false
	}
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(b, &c) != nil || c.Iss == "" {
		return "", nil, false
	}
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		return c.Iss, []string{one}, true
	}
	if json.Unmarshal(c.Aud, &aud) == nil {
		return c.Iss, aud, true
	}
	return "", nil, false
}

// TokenVerifier authenticates machine clients' OAuth 2.0 bearer tokens
// (JWTs) against their organizations' identity providers: issuer,
// audience, expiry, signature by a key of the provider's JWKS with an
// allowed algorithm. Providers are read from the store at most every
// providerCacheTTL; each provider's keys are cached and fetched again
// when a token names a key not seen yet, at most every keyRefreshInterval.
type TokenVerifier struct {
	Store  OAuthStore
	Now    func() time.Time
	Logger *slog.Logger
	// HTTPClient fetches discovery documents and key sets; nil means a
	// client that only connects to public addresses, so that an
	// organization cannot make the server reach its own network.
	HTTPClient *http.Client

	once      sync.Once
	client    *http.Client
	mu        sync.Mutex
	issuers   map[string]cachedProviders
	verifiers map[string]*providerVerifier // by organization
}

// providerCacheTTL bounds how late a change of a provider made through
// another replica takes effect here; a change through this replica's API
// takes effect at once (Forget).
const providerCacheTTL = 5 * time.Second

// keyRefreshInterval bounds how often a token naming an unknown key makes
// the server fetch the provider's key set again.
const keyRefreshInterval = 30 * time.Second

type cachedProviders struct {
	list    []*OAuthProvider
	fetched time.Time
}

// providerVerifier verifies the tokens of one provider configuration.
type providerVerifier struct {
	cfg OAuthProvider

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	failedAt time.Time // of the last failed discovery
}

// TokenPrincipal is who a verified token speaks for.
type TokenPrincipal struct {
	OrgID string
	// ClientID identifies the client in the audit log and the rate
	// limits without its subject itself: "oauth_" and the first 20 hex
	// digits of SHA-256(issuer NUL subject).
	ClientID string
	Scopes   []string
}

var errBadBearer = errs.E(errs.Unauthorized, "unauthenticated", "a valid API key or bearer token is required")

// Forget drops what is cached of the organization's provider, after a
// change of it.
func (v *TokenVerifier) Forget(orgID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.verifiers, orgID)
	v.issuers = nil
}

// Verify returns the principal of a valid token, or an Unauthorized error
// that says nothing about why (the reason is logged at info level).
func (v *TokenVerifier) Verify(ctx context.Context, token string) (*TokenPrincipal, error) {
	if !LooksLikeJWT(token) {
		return nil, errBadBearer
	}
	iss, aud, ok := unverifiedClaims(token)
	if !ok {
		return nil, errBadBearer
	}
	providers, err := v.providers(ctx, iss)
	if err != nil {
		return nil, err
	}
	var cfg *OAuthProvider
	for _, p := range providers {
		if slices.Contains(aud, p.Audience) {
			cfg = p
			break
		}
	}
	if cfg == nil {
		v.logger().InfoContext(ctx, "auth: bearer token refused: no organization has its issuer and audience")
		return nil, errBadBearer
	}
	pv := v.verifierFor(cfg)
	idt, err := pv.verify(ctx, v, token)
	if err != nil {
		v.logger().InfoContext(ctx, "auth: bearer token refused", "org", cfg.OrgID, "reason", err.Error())
		return nil, errBadBearer
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, errBadBearer
	}
	sum := sha256.Sum256([]byte(idt.Issuer + "\x00" + idt.Subject))
	return &TokenPrincipal{OrgID: cfg.OrgID, ClientID: "oauth_" + hex.EncodeToString(sum[:])[:20], Scopes: cfg.ScopesFor(claims)}, nil
}

func (v *TokenVerifier) logger() *slog.Logger {
	if v.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return v.Logger
}

// providers returns the providers with the issuer, from the cache while
// fresh. Unknown issuers are cached too, so a flood of made-up tokens costs
// one read per issuer and interval; the cache is emptied when it grows
// past 1024 issuers.
func (v *TokenVerifier) providers(ctx context.Context, iss string) ([]*OAuthProvider, error) {
	v.mu.Lock()
	c, ok := v.issuers[iss]
	v.mu.Unlock()
	if ok && time.Since(c.fetched) < providerCacheTTL {
		return c.list, nil
	}
	list, err := v.Store.OAuthProvidersByIssuer(ctx, iss)
	if err != nil {
		return nil, fmt.Errorf("auth: providers of a bearer token's issuer: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.issuers == nil || len(v.issuers) >= 1024 {
		v.issuers = map[string]cachedProviders{}
	}
	v.issuers[iss] = cachedProviders{list: list, fetched: time.Now()}
	return list, nil
}

// verifierFor returns the verifier of the configuration, a new one when
// the configuration changed.
func (v *TokenVerifier) verifierFor(cfg *OAuthProvider) *providerVerifier {
	v.mu.Lock()
	defer v.mu.Unlock()
	pv := v.verifiers[cfg.OrgID]
	if pv == nil || !sameProvider(&pv.cfg, cfg) {
		pv = &providerVerifier{cfg: *cfg}
		if v.verifiers == nil {
			v.verifiers = map[string]*providerVerifier{}
		}
		v.verifiers[cfg.OrgID] = pv
	}
	return pv
}

func sameProvider(a, b *OAuthProvider) bool {
	return a.Issuer == b.Issuer && a.Audience == b.Audience && a.JWKSURL == b.JWKSURL &&
		slices.Equal(a.Algorithms, b.Algorithms) && a.UpdatedAt.Equal(b.UpdatedAt)
}

// httpClient is the client for the providers' documents.
func (v *TokenVerifier) httpClient() *http.Client {
	v.once.Do(func() {
		v.client = v.HTTPClient
		if v.client == nil {
			v.client = PublicOnlyHTTPClient()
		}
	})
	return v.client
}

// verify checks the token with the provider's keys, making the verifier
// (with OpenID discovery, if no JWKS URL is configured) on first use; a
// failed discovery is tried again after keyRefreshInterval.
func (pv *providerVerifier) verify(ctx context.Context, v *TokenVerifier, token string) (*oidc.IDToken, error) {
	pv.mu.Lock()
	if pv.verifier == nil {
		if !pv.failedAt.IsZero() && time.Since(pv.failedAt) < keyRefreshInterval {
			pv.mu.Unlock()
			return nil, errors.New("discovery failed moments ago")
		}
		if err := pv.build(ctx, v); err != nil {
			pv.failedAt = time.Now()
			pv.mu.Unlock()
			return nil, err
		}
	}
	verifier := pv.verifier
	pv.mu.Unlock()
	return verifier.Verify(ctx, token)
}

// build makes the go-oidc verifier over the provider's key set.
func (pv *providerVerifier) build(ctx context.Context, v *TokenVerifier) error {
	client := v.httpClient()
	jwks := pv.cfg.JWKSURL
	if jwks == "" {
		dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), client), 10*time.Second)
		defer cancel()
		p, err := oidc.NewProvider(dctx, pv.cfg.Issuer)
		if err != nil {
			return fmt.Errorf("discovery: %w", err)
		}
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&doc); err != nil || doc.JWKSURI == "" {
			return errors.New("discovery: no jwks_uri")
		}
		if msg := ProviderURL(doc.JWKSURI); msg != "" {
			return fmt.Errorf("discovery: jwks_uri %s", msg)
		}
		jwks = doc.JWKSURI
	}
	now := v.Now
	if now == nil {
		now = time.Now
	}
	algs := make([]jose.SignatureAlgorithm, len(pv.cfg.Algorithms))
	for i, a := range pv.cfg.Algorithms {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	pv.verifier = oidc.NewVerifier(pv.cfg.Issuer, &keySet{url: jwks, client: client, algs: algs}, &oidc.Config{
		ClientID:             pv.cfg.Audience,
		SupportedSigningAlgs: slices.Clone(pv.cfg.Algorithms),
		Now:                  now,
	})
	return nil
}

// keyMaxAge is how long a fetched key set is trusted before it is fetched
// again, so that a key the provider withdrew stops being accepted.
const keyMaxAge = time.Hour

// keySet is a provider's JWKS, fetched when a token names a key it does not
// hold (at most every keyRefreshInterval, so that made-up key ids cannot
// make the server hammer the provider) or when it is older than keyMaxAge.
// go-oidc's own RemoteKeySet fetches again at every unknown key id.
type keySet struct {
	url    string
	client *http.Client
	algs   []jose.SignatureAlgorithm

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time
}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, k.algs)
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("not exactly one signature")
	}
	h := jws.Signatures[0].Header
	for _, key := range k.candidates(ctx, h.KeyID) {
		if key.Algorithm != "" && key.Algorithm != h.Algorithm {
			continue
		}
		if payload, err := jws.Verify(key); err == nil {
			return payload, nil
		}
	}
	return nil, errors.New("no key of the provider verifies the signature")
}

// candidates returns the signing keys with the id (every key, for a token
// without one), fetching the set when that is due.
func (k *keySet) candidates(ctx context.Context, kid string) []jose.JSONWebKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	find := func() []jose.JSONWebKey {
		var out []jose.JSONWebKey
		for _, key := range k.keys {
			if (kid == "" || key.KeyID == kid) && key.IsPublic() && (key.Use == "" || key.Use == "sig") {
				out = append(out, key)
			}
		}
		return out
	}
	found := find()
	stale := time.Since(k.fetched) >= keyMaxAge
	missing := len(found) == 0 && time.Since(k.fetched) >= keyRefreshInterval
	if k.fetched.IsZero() || stale || missing {
		k.fetched = time.Now()
		// A failed fetch keeps the keys held: the provider being down for a
		// moment must not stop every client.
		if keys, err := fetchJWKS(context.WithoutCancel(ctx), k.client, k.url); err == nil {
			k.keys = keys
			found = find()
		}
	}
	return found
}

// fetchJWKS reads a JSON Web Key Set of at most 1 MiB.
func fetchJWKS(ctx context.Context, client *http.Client, url string) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("key set: %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	return set.Keys, nil
}

// PublicOnlyHTTPClient returns a client that refuses to connect to
// loopback, private, link-local and other non-public addresses, whatever
// a host name resolves to: the URLs it fetches are chosen by an
// organization's administrator, who must not reach the server's network
// through them (cloud metadata, internal services).
func PublicOnlyHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			return fmt.Errorf("auth: refusing to fetch from non-public address %s", host)
		}
		return nil
	}}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: nil, DialContext: d.DialContext, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second, MaxResponseHeaderBytes: 64 << 10,
	}}
}
