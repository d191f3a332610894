package auth

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"bursar/internal/errs"
)

// OAuthProvider is an organization's identity provider for machine
// clients (issue 3 §5): a client presents a JWT access token from it as
// its bearer token, instead of an API key. The token's organization is
// the provider's (it is implicit in the configuration, never read from a
// claim); its scopes come from the claims the provider names.
type OAuthProvider struct {
	OrgID string `json:"-"`
	// Issuer must equal the token's iss claim exactly.
	Issuer string `json:"issuer"`
	// Audience must be one of the token's aud values. Together with the
	// issuer it names the organization, so no two organizations share the
	// pair.
	Audience string `json:"audience"`
	// JWKSURL is where the provider publishes its signing keys; empty
	// means the jwks_uri of the issuer's OpenID discovery document.
	JWKSURL string `json:"jwks_url"`
	// Algorithms are the signature algorithms accepted; never none or
	// HS*: a shared secret would let anyone who can verify also sign.
	Algorithms []string `json:"algorithms"`
	// ScopeClaim names a claim (such as "scope") whose values that are
	// Bursar scopes ("invoices:write", "read") are granted; other values
	// ("openid", another service's scopes) are ignored. Empty grants none.
	ScopeClaim string `json:"scope_claim"`
	// RoleClaim names a claim (such as "bursar_role") whose values pick
	// entries of Roles; each entry's scopes are granted.
	RoleClaim string        `json:"role_claim"`
	Roles     []RoleMapping `json:"roles"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// RoleMapping grants scopes to a token whose role claim has the value.
type RoleMapping struct {
	Value  string   `json:"value"`
	Scopes []string `json:"scopes"`
}

// OAuthAlgorithms are the signature algorithms a provider may allow.
var OAuthAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// DefaultOAuthAlgorithms are allowed when a configuration names none.
var DefaultOAuthAlgorithms = []string{"RS256", "ES256"}

// OAuthStore keeps the organizations' identity providers.
type OAuthStore interface {
	// GetOAuthProvider returns the organization's provider, or a
	// NotFound error.
	GetOAuthProvider(ctx context.Context, orgID string) (*OAuthProvider, error)
	// OAuthProvidersByIssuer returns the providers of every organization
	// with the issuer: the token's issuer is what names them.
	OAuthProvidersByIssuer(ctx context.Context, issuer string) ([]*OAuthProvider, error)
	// PutOAuthProvider creates or replaces the organization's provider;
	// an issuer and audience that another organization has is a Conflict.
	PutOAuthProvider(ctx context.Context, p *OAuthProvider) error
	// DeleteOAuthProvider removes the organization's provider, or
	// returns a NotFound error.
	DeleteOAuthProvider(ctx context.Context, orgID string) error
}

// Normalize fills in the defaults and checks the configuration, returning
// an Invalid error with one entry per bad field.
func (p *OAuthProvider) Normalize() error {
	var f errs.Fields
	if msg := ProviderURL(p.Issuer); msg != "" {
		f.Add("issuer", "%s", msg)
	}
	if p.Audience == "" || len(p.Audience) > 200 {
		f.Add("audience", "must be 1 to 200 characters: the aud value the provider puts in tokens for Bursar")
	}
	if p.JWKSURL != "" {
		if msg := ProviderURL(p.JWKSURL); msg != "" {
			f.Add("jwks_url", "%s", msg)
		}
	}
	if len(p.Algorithms) == 0 {
		p.Algorithms = slices.Clone(DefaultOAuthAlgorithms)
	}
	for i, alg := range p.Algorithms {
		if !slices.Contains(OAuthAlgorithms, alg) {
			f.Add("algorithms["+strconv.Itoa(i)+"]", "must be one of %s (never none or HS*)", strings.Join(OAuthAlgorithms, ", "))
		}
	}
	for _, c := range []struct{ field, name string }{{"scope_claim", p.ScopeClaim}, {"role_claim", p.RoleClaim}} {
		if c.name != "" && !claimName(c.name) {
			f.Add(c.field, "must be a claim name of at most 100 letters, digits and _ : . / -")
		}
	}
	if p.ScopeClaim == "" && p.RoleClaim == "" {
		f.Add("scope_claim", "name a scope claim or a role claim (or both): a token without either would be granted nothing")
	}
	if len(p.Roles) > 0 && p.RoleClaim == "" {
		f.Add("role_claim", "must be set when roles are mapped")
	}
	if p.RoleClaim != "" && len(p.Roles) == 0 {
		f.Add("roles", "must map at least one value of the role claim to scopes")
	}
	if len(p.Roles) > 50 {
		f.Add("roles", "must map at most 50 values")
	}
	for i, m := range p.Roles {
		field := "roles[" + strconv.Itoa(i) + "]"
		if m.Value == "" || len(m.Value) > 100 {
			f.Add(field+".value", "must be 1 to 100 characters")
		}
		if slices.ContainsFunc(p.Roles[:i], func(o RoleMapping) bool { return o.Value == m.Value }) {
			f.Add(field+".value", "repeats an earlier value")
		}
		if len(m.Scopes) == 0 {
			f.Add(field+".scopes", "must list at least one scope")
		}
		for j, sc := range m.Scopes {
			if !ValidScope(sc) {
				f.Add(field+".scopes["+strconv.Itoa(j)+"]", "must be \"*\", \"read\", \"write\" or RESOURCE:read|write")
			}
		}
	}
	return f.Err()
}

// ProviderURL says what is wrong with the URL of an identity provider (an
// issuer, a JWKS or discovery URL), or "". HTTPS only, but for loopback
// hosts (an identity provider on the same machine, and tests): keys and
// tokens fetched in the clear could be replaced on the way. Bearer tokens
// and single sign-on both use it.
func ProviderURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case s == "" || len(s) > 500 || err != nil || u.Host == "" || u.User != nil || u.Fragment != "":
		return "must be an absolute https:// URL of at most 500 characters, without credentials or fragment"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"):
		return ""
	}
	return "must use https:// (http:// only for a loopback host)"
}

func claimName(s string) bool {
	if len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_:./-", c)) {
			return false
		}
	}
	return true
}

// ScopesFor returns the scopes that verified claims grant: the Bursar
// scopes among the scope claim's values, and the scopes of the roles that
// the role claim's values name. A claim may be a space-separated string
// (as OAuth's scope is) or an array of strings.
func (p *OAuthProvider) ScopesFor(claims map[string]any) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if p.ScopeClaim != "" {
		for _, v := range claimValues(claims[p.ScopeClaim]) {
			if ValidScope(v) {
				add(v)
			}
		}
	}
	if p.RoleClaim != "" {
		for _, v := range claimValues(claims[p.RoleClaim]) {
			for _, m := range p.Roles {
				if m.Value == v {
					for _, s := range m.Scopes {
						add(s)
					}
				}
			}
		}
	}
	return out
}

// claimValues reads a claim as a list of strings.
func claimValues(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
