// Package sso signs members in to the portal with their organization's
// OpenID Connect identity provider (issue 3 §5): the authorization code
// flow with PKCE (S256), state and nonce, the ID token verified with
// go-oidc, the user matched by a verified email, and a session started
// through the identity service like a password sign-in's
// (docs/security/sso.md).
//
// This is not internal/auth's OAuthProvider, which lets machine clients
// present an access token of the organization's provider to the API.
package sso

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"bursar/internal/auth"
	"bursar/internal/errs"
)

// Config is an organization's single sign-on.
type Config struct {
	OrgID string
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration", and ID tokens must
	// name it exactly.
	Issuer string
	// ClientID is Bursar's client at the provider, the audience of its ID
	// tokens.
	ClientID string
	// ClientSecret authenticates Bursar to the provider's token endpoint.
	// The store seals it; the API never shows it.
	ClientSecret string
	// AllowedDomains, if not empty, are the only email domains whose users
	// may sign in (lower case, exact match).
	AllowedDomains []string
	// CreateMembers makes a verified email of an allowed domain that is
	// not a member yet a member with DefaultRole at its first sign-in.
	CreateMembers bool
	// DefaultRole is the role of members made so; never owner.
	DefaultRole auth.Role
	// Enabled turns the sign-in on; a disabled configuration is kept.
	Enabled   bool
	UpdatedAt time.Time
}

// View is a configuration as the API shows it: the secret only as
// whether it is set.
type View struct {
	Issuer          string    `json:"issuer"`
	ClientID        string    `json:"client_id"`
	ClientSecretSet bool      `json:"client_secret_set"`
	AllowedDomains  []string  `json:"allowed_domains"`
	CreateMembers   bool      `json:"create_members"`
	DefaultRole     auth.Role `json:"default_role"`
	Enabled         bool      `json:"enabled"`
	// RedirectURI is what to register at the provider; SignInURL what to
	// give the members.
	RedirectURI string    `json:"redirect_uri"`
	SignInURL   string    `json:"sign_in_url"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Flow is a sign-in in progress, from the redirect to the provider to its
// answer at the callback. Only hashes of the state and of the browser's
// cookie are kept.
type Flow struct {
	StateHash   []byte
	BrowserHash []byte
	OrgID       string
	Nonce       string
	// Verifier is the PKCE code verifier; the store seals it.
	Verifier  string
	Next      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// FlowTTL is how long a sign-in may stay at the provider.
const FlowTTL = 10 * time.Minute

// Store keeps the configurations and the flows in progress.
type Store interface {
	// GetSSOConfig returns the organization's configuration, or a
	// NotFound error.
	GetSSOConfig(ctx context.Context, orgID string) (*Config, error)
	// PutSSOConfig creates or replaces the organization's configuration.
	PutSSOConfig(ctx context.Context, c *Config) error
	// DeleteSSOConfig removes it, or returns a NotFound error.
	DeleteSSOConfig(ctx context.Context, orgID string) error
	// InsertSSOFlow stores a flow, and drops flows that expired before
	// its creation.
	InsertSSOFlow(ctx context.Context, f *Flow) error
	// TakeSSOFlow returns the flow with the state hash and deletes it, in
	// one transaction, or returns a NotFound error: a flow is taken once
	// across every replica.
	TakeSSOFlow(ctx context.Context, stateHash []byte) (*Flow, error)
}

// Normalize checks a configuration and puts its domains in their stored
// form, returning an Invalid error with one entry per bad field.
func (c *Config) Normalize() error {
	var f errs.Fields
	if msg := issuerURL(c.Issuer); msg != "" {
		f.Add("issuer", "%s", msg)
	}
	if c.ClientID == "" || len(c.ClientID) > 200 {
		f.Add("client_id", "must be 1 to 200 characters: the client id the provider gave Bursar")
	}
	if c.ClientSecret == "" || len(c.ClientSecret) > 1000 {
		f.Add("client_secret", "must be 1 to 1000 characters: the client secret the provider gave Bursar")
	}
	if len(c.AllowedDomains) > 50 {
		f.Add("allowed_domains", "must list at most 50 domains")
	}
	domains := make([]string, 0, len(c.AllowedDomains))
	for i, d := range c.AllowedDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if !validDomain(d) {
			f.Add("allowed_domains["+strconv.Itoa(i)+"]", "must be a domain name such as example.com")
		}
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	c.AllowedDomains = domains
	if c.DefaultRole == "" {
		c.DefaultRole = auth.RoleViewer
	}
	switch {
	case c.DefaultRole == auth.RoleOwner:
		f.Add("default_role", "must not be owner: an identity provider cannot make owners; promote a member instead")
	case !auth.ValidRole(c.DefaultRole):
		f.Add("default_role", "must be one of admin, accountant, viewer")
	}
	return f.Err()
}

// issuerURL says what is wrong with an issuer URL, or "": HTTPS only, but
// for loopback hosts (a provider on the same machine, and tests).
func issuerURL(s string) string {
	if msg := auth.ProviderURL(s); msg != "" {
		return msg
	}
	if u, _ := url.Parse(s); u.RawQuery != "" {
		return "must not have a query: an issuer is a plain https:// URL"
	}
	return ""
}

func validDomain(d string) bool {
	if len(d) < 3 || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") ||
		strings.Contains(d, "..") {
		return false
	}
	for _, c := range d {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// DomainAllowed reports whether the configuration lets an email's domain
// sign in.
func (c *Config) DomainAllowed(email string) bool {
	if len(c.AllowedDomains) == 0 {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	return at > 0 && slices.Contains(c.AllowedDomains, strings.ToLower(email[at+1:]))
}

// ViewOf is the configuration as the API shows it; base is the server's
// public address.
func ViewOf(c *Config, base string) *View {
	base = strings.TrimRight(base, "/")
	domains := c.AllowedDomains
	if domains == nil {
		domains = []string{}
	}
	return &View{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecretSet: c.ClientSecret != "", AllowedDomains: domains,
		CreateMembers: c.CreateMembers, DefaultRole: c.DefaultRole, Enabled: c.Enabled,
		RedirectURI: base + CallbackPath, SignInURL: base + StartPath + "?org=" + url.QueryEscape(c.OrgID), UpdatedAt: c.UpdatedAt}
}

// The portal's paths of the flow.
const (
	StartPath    = "/sso/start"
	CallbackPath = "/sso/callback"
)
