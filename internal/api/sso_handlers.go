package api

import (
	"context"
	"net/http"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/auth/sso"
	"bursar/internal/errs"
)

// ssoInput is the body of PUT /v1/organization/sso. An absent or empty
// client_secret keeps the one stored, so that a client that read the
// configuration (which never shows it) can write it back.
type ssoInput struct {
	Issuer         string    `json:"issuer"`
	ClientID       string    `json:"client_id"`
	ClientSecret   string    `json:"client_secret"`
	AllowedDomains []string  `json:"allowed_domains"`
	CreateMembers  bool      `json:"create_members"`
	DefaultRole    auth.Role `json:"default_role"`
	Enabled        *bool     `json:"enabled"`
}

// ssoAudit is what the audit log keeps of a configuration: its view, the
// secret only as whether it was replaced.
type ssoAudit struct {
	*sso.View
	ClientSecretReplaced bool `json:"client_secret_replaced,omitempty"`
}

// errNoSSO answers the single sign-on routes on a server wired without it.
var errNoSSO = errs.E(errs.NotFound, "not_found", "this server does not offer single sign-on")

func (a *api) getSSO(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.SSO == nil {
		return errNoSSO
	}
	cfg, err := a.SSO.Store.GetSSOConfig(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sso.ViewOf(cfg, a.SSO.BaseURL))
	return nil
}

// putSSO creates or replaces the organization's single sign-on. A user
// needs a fresh authentication: whoever sets the provider decides who may
// sign in as the organization's members.
func (a *api) putSSO(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.SSO == nil {
		return errNoSSO
	}
	var in ssoInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	cfg := &sso.Config{OrgID: c.orgID, Issuer: in.Issuer, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
		AllowedDomains: in.AllowedDomains, CreateMembers: in.CreateMembers, DefaultRole: in.DefaultRole, Enabled: true,
		UpdatedAt: a.Now().UTC()}
	if in.Enabled != nil {
		cfg.Enabled = *in.Enabled
	}
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, err := a.SSO.Store.GetSSOConfig(ctx, c.orgID)
		if errs.KindOf(err) == errs.NotFound {
			before, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		replaced := cfg.ClientSecret != ""
		if !replaced && before != nil {
			cfg.ClientSecret = before.ClientSecret
		}
		if err := cfg.Normalize(); err != nil {
			return nil, err
		}
		if err := a.SSO.Store.PutSSOConfig(ctx, cfg); err != nil {
			return nil, err
		}
		after := &ssoAudit{View: sso.ViewOf(cfg, a.SSO.BaseURL), ClientSecretReplaced: replaced}
		if before == nil {
			return a.entryOf(c, "organization.sso_set", "sso_config", c.orgID, nil, after)
		}
		return a.entryOf(c, "organization.sso_set", "sso_config", c.orgID, &ssoAudit{View: sso.ViewOf(before, a.SSO.BaseURL)}, after)
	})
	a.SSO.Forget(c.orgID) // even on error: the change may have been stored
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sso.ViewOf(cfg, a.SSO.BaseURL))
	return nil
}

// deleteSSO removes the organization's single sign-on and ends the
// sign-ins in progress; sessions already made stay.
func (a *api) deleteSSO(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.SSO == nil {
		return errNoSSO
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	var cfg *sso.Config
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		if cfg, err = a.SSO.Store.GetSSOConfig(ctx, c.orgID); err != nil {
			return nil, err
		}
		if err := a.SSO.Store.DeleteSSOConfig(ctx, c.orgID); err != nil {
			return nil, err
		}
		return a.entryOf(c, "organization.sso_deleted", "sso_config", c.orgID, &ssoAudit{View: sso.ViewOf(cfg, a.SSO.BaseURL)}, nil)
	})
	a.SSO.Forget(c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sso.ViewOf(cfg, a.SSO.BaseURL))
	return nil
}
