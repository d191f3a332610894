package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/errs"
	"bursar/internal/ident"
)

// Service runs the sign-in flow. The flows in progress are kept in the
// store, so any replica may answer the provider's redirect.
type Service struct {
	Store    Store
	Identity *auth.Identity
	// Audit, if set, records the members that a sign-in creates, in the
	// transaction that creates them.
	Audit  *audit.Log
	Now    func() time.Time
	Logger *slog.Logger
	// BaseURL is the server's public address; the callback is
	// BaseURL + CallbackPath.
	BaseURL string
	// HTTPClient reaches the providers; nil means one that connects only
	// to public addresses (auth.PublicOnlyHTTPClient), so that an
	// organization's settings cannot make the server reach its own
	// network.
	HTTPClient *http.Client

	once      sync.Once
	client    *http.Client
	mu        sync.Mutex
	providers map[string]*cachedProvider // by organization
}

type cachedProvider struct {
	issuer    string
	updatedAt time.Time
	provider  *oidc.Provider
	fetched   time.Time
}

// discoveryTTL is how long a provider's discovery document is trusted.
const discoveryTTL = time.Hour

// Algorithms are the ID token signature algorithms accepted: asymmetric
// only, never none or HS* (a client secret as the key would let anyone who
// holds it forge tokens).
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// RefusedError is a sign-in the flow refused. Its reason is for the log
// and the tests; users are shown one generic message (ErrRefused).
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "sso: sign-in refused: " + e.Reason }

// Is makes every RefusedError match ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// ErrRefused matches every refused sign-in.
var ErrRefused = errors.New("sso: sign-in refused")

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Service) httpClient() *http.Client {
	s.once.Do(func() {
		s.client = s.HTTPClient
		if s.client == nil {
			s.client = auth.PublicOnlyHTTPClient()
		}
	})
	return s.client
}

// provider returns the organization's provider from its discovery
// document, cached while the configuration is unchanged.
func (s *Service) provider(ctx context.Context, cfg *Config) (*oidc.Provider, error) {
	s.mu.Lock()
	c := s.providers[cfg.OrgID]
	s.mu.Unlock()
	if c != nil && c.issuer == cfg.Issuer && c.updatedAt.Equal(cfg.UpdatedAt) && time.Since(c.fetched) < discoveryTTL {
		return c.provider, nil
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), s.httpClient()), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("sso: discovery of %s: %w", cfg.Issuer, err)
	}
	// The browser is sent to the authorization endpoint and the code to the
	// token endpoint: neither may be a page in the clear or another scheme.
	for _, u := range []string{p.Endpoint().AuthURL, p.Endpoint().TokenURL} {
		if !endpointURL(u) {
			return nil, fmt.Errorf("sso: discovery of %s: endpoint %q is not an https:// URL", cfg.Issuer, u)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.providers == nil || len(s.providers) >= 1024 {
		s.providers = map[string]*cachedProvider{}
	}
	s.providers[cfg.OrgID] = &cachedProvider{issuer: cfg.Issuer, updatedAt: cfg.UpdatedAt, provider: p, fetched: time.Now()}
	return p, nil
}

// Forget drops what is cached of the organization's provider, after a
// change of its configuration.
func (s *Service) Forget(orgID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.providers, orgID)
}

func (s *Service) oauth2Config(cfg *Config, p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: strings.TrimRight(s.BaseURL, "/") + CallbackPath,
		Scopes:      []string{oidc.ScopeOpenID, "email", "profile"}}
}

// enabledConfig returns the organization's configuration if it is
// enabled; anything else is one refusal, so that the sign-in page tells
// nothing about which organizations have single sign-on.
func (s *Service) enabledConfig(ctx context.Context, orgID string) (*Config, error) {
	cfg, err := s.Store.GetSSOConfig(ctx, orgID)
	if errs.KindOf(err) == errs.NotFound {
		return nil, refused("organization %q has no single sign-on", orgID)
	}
	if err != nil {
		return nil, err
	}
	if !cfg.Enabled {
		return nil, refused("single sign-on of organization %q is disabled", orgID)
	}
	return cfg, nil
}

// random returns 256 random bits, URL-safe.
func random() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Begin starts a sign-in with the organization's provider: it stores the
// flow and returns the provider's authorization URL and the value of the
// cookie that binds the flow to this browser. next is where to go after
// signing in, a path of this site.
func (s *Service) Begin(ctx context.Context, orgID, next string) (authURL, browser string, err error) {
	cfg, err := s.enabledConfig(ctx, orgID)
	if err != nil {
		return "", "", err
	}
	p, err := s.provider(ctx, cfg)
	if err != nil {
		return "", "", err
	}
	state, err := random()
	if err != nil {
		return "", "", err
	}
	nonce, err := random()
	if err != nil {
		return "", "", err
	}
	if browser, err = random(); err != nil {
		return "", "", err
	}
	verifier := oauth2.GenerateVerifier()
	now := s.Now().UTC()
	f := &Flow{StateHash: auth.HashSecret(state), BrowserHash: auth.HashSecret(browser), OrgID: orgID, Nonce: nonce,
		Verifier: verifier, Next: next, CreatedAt: now, ExpiresAt: now.Add(FlowTTL)}
	if err := s.Store.InsertSSOFlow(ctx, f); err != nil {
		return "", "", err
	}
	authURL = s.oauth2Config(cfg, p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return authURL, browser, nil
}

// Result is a sign-in that the flow completed.
type Result struct {
	*auth.LoginResult
	OrgID string
	// Next is where the flow was asked to lead.
	Next string
	// Joined says the sign-in made the user a member.
	Joined bool
}

// Finish completes a sign-in at the provider's redirect: it takes the
// flow of the state (once; it must belong to this browser), exchanges the
// code with the PKCE verifier, verifies the ID token (signature by the
// provider's keys with an allowed algorithm, issuer, audience, expiry,
// nonce), requires a verified email of an allowed domain, finds or makes
// the member, and starts a session through the identity service, counted
// in the address's sign-in throttle. The session waits for Bursar's
// second factor if the user has one, as after a password. A refusal is a
// *RefusedError; no session is made.
func (s *Service) Finish(ctx context.Context, state, code, browser, address, userAgent string) (*Result, error) {
	res := &Result{}
	login, err := s.Identity.SignInFederated(ctx, address, userAgent, func(ctx context.Context) (string, error) {
		return s.verify(ctx, state, code, browser, res)
	})
	if err != nil {
		return nil, err
	}
	res.LoginResult = login
	return res, nil
}

// verify runs the checks of Finish and returns the user to sign in.
func (s *Service) verify(ctx context.Context, state, code, browser string, res *Result) (string, error) {
	if state == "" || code == "" || browser == "" || len(state) > 200 || len(browser) > 200 {
		return "", refused("the answer lacks a state, a code or the browser's cookie")
	}
	f, err := s.Store.TakeSSOFlow(ctx, auth.HashSecret(state))
	if errs.KindOf(err) == errs.NotFound {
		return "", refused("unknown or used state")
	}
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare(f.BrowserHash, auth.HashSecret(browser)) != 1 {
		return "", refused("the state belongs to another browser")
	}
	if !s.Now().Before(f.ExpiresAt) {
		return "", refused("the flow expired")
	}
	res.OrgID, res.Next = f.OrgID, f.Next
	cfg, err := s.enabledConfig(ctx, f.OrgID)
	if err != nil {
		return "", err
	}
	p, err := s.provider(ctx, cfg)
	if err != nil {
		return "", err
	}
	xctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, s.httpClient()), 10*time.Second)
	defer cancel()
	tok, err := s.oauth2Config(cfg, p).Exchange(xctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return "", refused("code exchange: %v", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", refused("the token response has no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: Algorithms, Now: s.Now}).Verify(xctx, raw)
	if err != nil {
		return "", refused("ID token: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return "", refused("the ID token's nonce is not the flow's")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", refused("ID token claims: %v", err)
	}
	email := auth.NormalizeEmail(claims.Email)
	// Some providers send the boolean as a string.
	if v := claims.EmailVerified; v != true && v != "true" {
		return "", refused("the email is not verified by the provider")
	}
	if !strings.Contains(email, "@") || len(email) > 254 {
		return "", refused("the ID token carries no email")
	}
	if !cfg.DomainAllowed(email) {
		return "", refused("the email's domain is not allowed")
	}
	userID, joined, err := s.member(ctx, cfg, email, claims.Name)
	res.Joined = joined
	return userID, err
}

// member returns the user of the email as a member of the organization,
// making the user or the membership when the configuration allows it.
//
// An organization's provider vouches only for its own people: a user who
// belongs to any other organization is refused, whatever the email, so
// that no organization's administrator can sign in as someone of another
// organization by asserting their address at a provider they control.
func (s *Service) member(ctx context.Context, cfg *Config, email, name string) (userID string, joined bool, err error) {
	st := s.Identity.Store
	u, err := st.GetUserByEmail(ctx, email)
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return "", false, err
	}
	if u != nil {
		ms, err := st.ListUserMemberships(ctx, u.ID)
		if err != nil {
			return "", false, err
		}
		member := false
		for _, m := range ms {
			if m.OrgID != cfg.OrgID {
				return "", false, refused("the user belongs to another organization too")
			}
			member = true
		}
		if member {
			return u.ID, false, nil
		}
	}
	if !cfg.CreateMembers {
		return "", false, refused("not a member, and the organization does not create members")
	}
	now := s.Now().UTC()
	isNew := u == nil
	if isNew {
		name = strings.TrimSpace(name)
		if name == "" || utf8.RuneCountInString(name) > 100 {
			name = email[:strings.IndexByte(email, '@')]
		}
		u = &auth.User{ID: ident.New("usr", now), Email: email, Name: name, CreatedAt: now, EmailVerifiedAt: &now}
	}
	m := &auth.Membership{OrgID: cfg.OrgID, UserID: u.ID, Role: cfg.DefaultRole, CreatedAt: now}
	err = st.InTx(ctx, func(ctx context.Context) error {
		if isNew {
			if err := st.InsertUser(ctx, u); err != nil {
				return err
			}
		}
		if err := st.InsertMembership(ctx, m); err != nil {
			return err
		}
		if s.Audit == nil {
			return nil
		}
		fields, err := audit.Changes(s.Audit.Keys.Hasher, cfg.OrgID, "member", nil, struct {
			Role auth.Role `json:"role"`
		}{m.Role})
		if err != nil {
			return err
		}
		return s.Audit.Append(ctx, &audit.Entry{Tree: cfg.OrgID, Time: now, Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID},
			Action: "member.joined_sso", ObjectType: "member", ObjectID: u.ID, Fields: fields})
	})
	if err != nil {
		return "", false, err
	}
	s.logger().InfoContext(ctx, "sso: member created at first sign-in", "org", cfg.OrgID, "user", u.ID, "new_user", isNew)
	return u.ID, true, nil
}

// endpointURL reports whether a provider's endpoint is an absolute
// https:// URL (http:// for a loopback host, as the issuer may be).
func endpointURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	h := u.Hostname()
	return u.Scheme == "https" || u.Scheme == "http" && (h == "localhost" || h == "127.0.0.1" || h == "::1")
}
