package sqlstore

import (
	"context"
	"encoding/hex"

	"bursar/internal/auth"
	"bursar/internal/auth/sso"
	"bursar/internal/errs"
)

// The store keeps the organizations' single sign-on.
var _ sso.Store = (*Store)(nil)

const ssoConfigCols = "org_id, issuer, client_id, client_secret, allowed_domains, create_members, default_role, enabled, updated_at"

// GetSSOConfig returns the organization's single sign-on, its client
// secret opened.
func (s *Store) GetSSOConfig(ctx context.Context, orgID string) (*sso.Config, error) {
	var c sso.Config
	var role string
	err := s.queryRow(ctx, "SELECT "+ssoConfigCols+" FROM sso_configs WHERE org_id = ?", orgID).Scan(&c.OrgID, &c.Issuer,
		&c.ClientID, &c.ClientSecret, jsonDest{&c.AllowedDomains}, &c.CreateMembers, &role, &c.Enabled, timeDest{&c.UpdatedAt})
	if err := s.getOne(err, "single sign-on of organization", orgID); err != nil {
		return nil, err
	}
	c.DefaultRole = auth.Role(role)
	x := s.opener(ctx, orgID, "sso_configs", orgID)
	x.open("client_secret", &c.ClientSecret)
	if x.err != nil {
		return nil, s.fail(x.err, "get", "single sign-on of organization", orgID)
	}
	return &c, nil
}

// PutSSOConfig creates or replaces the organization's single sign-on,
// sealing its client secret.
func (s *Store) PutSSOConfig(ctx context.Context, c *sso.Config) error {
	domains, err := jsonText(c.AllowedDomains)
	if err != nil {
		return s.fail(err, "update", "single sign-on of organization", c.OrgID)
	}
	x := s.sealer(ctx, c.OrgID, "sso_configs", c.OrgID)
	secret := x.text("client_secret", c.ClientSecret)
	if x.err != nil {
		return s.fail(x.err, "update", "single sign-on of organization", c.OrgID)
	}
	if _, err := s.exec(ctx, "INSERT INTO sso_configs ("+ssoConfigCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"+
		" ON CONFLICT (org_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,"+
		" client_secret = excluded.client_secret, allowed_domains = excluded.allowed_domains,"+
		" create_members = excluded.create_members, default_role = excluded.default_role, enabled = excluded.enabled,"+
		" updated_at = excluded.updated_at",
		c.OrgID, c.Issuer, c.ClientID, secret, domains, c.CreateMembers, string(c.DefaultRole), c.Enabled, stamp(&c.UpdatedAt)); err != nil {
		return s.fail(err, "update", "single sign-on of organization", c.OrgID)
	}
	return nil
}

// DeleteSSOConfig removes the organization's single sign-on and its flows
// in progress.
func (s *Store) DeleteSSOConfig(ctx context.Context, orgID string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.exec(ctx, "DELETE FROM sso_flows WHERE org_id = ?", orgID); err != nil {
			return s.fail(err, "delete", "single sign-on flows of organization", orgID)
		}
		n, err := s.exec(ctx, "DELETE FROM sso_configs WHERE org_id = ?", orgID)
		if err != nil {
			return s.fail(err, "delete", "single sign-on of organization", orgID)
		}
		return touched(n, "single sign-on of organization", orgID)
	})
}

const ssoFlowCols = "state_hash, browser_hash, org_id, nonce, verifier, next, created_at, expires_at"

// InsertSSOFlow stores a sign-in in progress, sealing its PKCE verifier,
// and drops the flows that expired before it began.
func (s *Store) InsertSSOFlow(ctx context.Context, f *sso.Flow) error {
	x := s.sealer(ctx, f.OrgID, "sso_flows", hex.EncodeToString(f.StateHash))
	verifier := x.text("verifier", f.Verifier)
	if x.err != nil {
		return s.fail(x.err, "insert", "single sign-on flow of organization", f.OrgID)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.exec(ctx, "DELETE FROM sso_flows WHERE expires_at < ?", stamp(&f.CreatedAt)); err != nil {
			return s.fail(err, "purge", "single sign-on flows", "")
		}
		if _, err := s.exec(ctx, "INSERT INTO sso_flows ("+ssoFlowCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			f.StateHash, f.BrowserHash, f.OrgID, f.Nonce, verifier, f.Next, stamp(&f.CreatedAt), stamp(&f.ExpiresAt)); err != nil {
			return s.fail(err, "insert", "single sign-on flow of organization", f.OrgID)
		}
		return nil
	})
}

// TakeSSOFlow reads and deletes the flow with the state hash. The delete
// decides: of two takers, the one whose delete finds no row gets NotFound.
func (s *Store) TakeSSOFlow(ctx context.Context, stateHash []byte) (*sso.Flow, error) {
	var f sso.Flow
	err := s.InTx(ctx, func(ctx context.Context) error {
		err := s.queryRow(ctx, "SELECT "+ssoFlowCols+" FROM sso_flows WHERE state_hash = ?", stateHash).Scan(&f.StateHash,
			&f.BrowserHash, &f.OrgID, &f.Nonce, &f.Verifier, &f.Next, timeDest{&f.CreatedAt}, timeDest{&f.ExpiresAt})
		if err := s.getOne(err, "single sign-on flow", ""); err != nil {
			return err
		}
		n, err := s.exec(ctx, "DELETE FROM sso_flows WHERE state_hash = ?", stateHash)
		if err != nil {
			return s.fail(err, "delete", "single sign-on flow", "")
		}
		if n == 0 {
			return errs.NotFoundf("single sign-on flow", "")
		}
		x := s.opener(ctx, f.OrgID, "sso_flows", hex.EncodeToString(f.StateHash))
		x.open("verifier", &f.Verifier)
		return x.err
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}
