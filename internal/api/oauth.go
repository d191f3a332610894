package api

import (
	"context"
	"net/http"
	"strings"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/errs"
)

// bearerToken reports whether a bearer token is an OAuth 2.0 access token
// (a JWT) to be verified against an identity provider rather than an API
// key: API keys start with auth.SecretPrefix and are never JWTs.
func (a *api) bearerToken(token string) bool {
	return a.Tokens != nil && !strings.HasPrefix(token, auth.SecretPrefix) && auth.LooksLikeJWT(token)
}

// authenticateToken verifies an OAuth 2.0 access token and returns the
// client it speaks for as a key: of the provider's organization, with the
// scopes its claims map to, named by an id derived from issuer and
// subject (which the audit log and the rate limits use like a key's id).
func (a *api) authenticateToken(ctx context.Context, token string) (*auth.APIKey, error) {
	p, err := a.Tokens.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	return &auth.APIKey{ID: p.ClientID, OrgID: p.OrgID, Name: "OAuth client", Scopes: p.Scopes, CreatedAt: a.Now().UTC()}, nil
}

// oauthProviderInput is the body of PUT /v1/organization/oauth.
type oauthProviderInput struct {
	Issuer     string             `json:"issuer"`
	Audience   string             `json:"audience"`
	JWKSURL    string             `json:"jwks_url"`
	Algorithms []string           `json:"algorithms"`
	ScopeClaim string             `json:"scope_claim"`
	RoleClaim  string             `json:"role_claim"`
	Roles      []auth.RoleMapping `json:"roles"`
}

// errNoOAuth answers the provider routes on a server wired without them.
var errNoOAuth = errs.E(errs.NotFound, "not_found", "this server does not accept OAuth bearer tokens")

func (a *api) getOAuthProvider(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.OAuthProviders == nil {
		return errNoOAuth
	}
	p, err := a.OAuthProviders.GetOAuthProvider(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// putOAuthProvider creates or replaces the organization's identity
// provider. It is in force on this replica at once and on the others
// within a few seconds.
func (a *api) putOAuthProvider(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.OAuthProviders == nil {
		return errNoOAuth
	}
	var in oauthProviderInput
	if err := decode(r, &in); err != nil {
		return err
	}
	p := &auth.OAuthProvider{OrgID: c.orgID, Issuer: in.Issuer, Audience: in.Audience, JWKSURL: in.JWKSURL,
		Algorithms: in.Algorithms, ScopeClaim: in.ScopeClaim, RoleClaim: in.RoleClaim, Roles: in.Roles, UpdatedAt: a.Now().UTC()}
	if err := p.Normalize(); err != nil {
		return err
	}
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, err := a.OAuthProviders.GetOAuthProvider(ctx, c.orgID)
		if errs.KindOf(err) == errs.NotFound {
			before, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		if err := a.OAuthProviders.PutOAuthProvider(ctx, p); err != nil {
			return nil, err
		}
		if before == nil {
			return a.entryOf(c, "organization.oauth_provider_set", "oauth_provider", c.orgID, nil, p)
		}
		return a.entryOf(c, "organization.oauth_provider_set", "oauth_provider", c.orgID, before, p)
	})
	a.forgetOAuth(c.orgID) // even on error: the change may have been stored
	if errs.CodeOf(err) == "already_exists" {
		return errs.E(errs.Conflict, "oauth_provider_taken", "another organization already trusts this issuer for this audience; ask the provider for an audience of your own")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *api) deleteOAuthProvider(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.OAuthProviders == nil {
		return errNoOAuth
	}
	var p *auth.OAuthProvider
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		if p, err = a.OAuthProviders.GetOAuthProvider(ctx, c.orgID); err != nil {
			return nil, err
		}
		if err := a.OAuthProviders.DeleteOAuthProvider(ctx, c.orgID); err != nil {
			return nil, err
		}
		return a.entryOf(c, "organization.oauth_provider_deleted", "oauth_provider", c.orgID, p, nil)
	})
	a.forgetOAuth(c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *api) forgetOAuth(orgID string) {
	if a.Tokens != nil {
		a.Tokens.Forget(orgID)
	}
}
