package sqlstore

import (
	"context"

	"bursar/internal/auth"
)

// The store keeps the organizations' identity providers.
var _ auth.OAuthStore = (*Store)(nil)

const oauthProviderCols = "org_id, issuer, audience, jwks_url, algorithms, scope_claim, role_claim, roles, updated_at"

func scanOAuthProvider(sc scanner) (*auth.OAuthProvider, error) {
	var p auth.OAuthProvider
	return &p, sc.Scan(&p.OrgID, &p.Issuer, &p.Audience, &p.JWKSURL, jsonDest{&p.Algorithms}, &p.ScopeClaim,
		&p.RoleClaim, jsonDest{&p.Roles}, timeDest{&p.UpdatedAt})
}

// GetOAuthProvider returns the organization's identity provider.
func (s *Store) GetOAuthProvider(ctx context.Context, orgID string) (*auth.OAuthProvider, error) {
	p, err := scanOAuthProvider(s.queryRow(ctx, "SELECT "+oauthProviderCols+" FROM oauth_providers WHERE org_id = ?", orgID))
	if err := s.getOne(err, "OAuth provider of organization", orgID); err != nil {
		return nil, err
	}
	return p, nil
}

// OAuthProvidersByIssuer returns the providers of every organization with
// the issuer, ordered by audience.
func (s *Store) OAuthProvidersByIssuer(ctx context.Context, issuer string) ([]*auth.OAuthProvider, error) {
	rows, err := s.query(ctx, "SELECT "+oauthProviderCols+" FROM oauth_providers WHERE issuer = ? ORDER BY audience", issuer)
	if err != nil {
		return nil, s.fail(err, "list", "OAuth providers of issuer", issuer)
	}
	defer rows.Close()
	var out []*auth.OAuthProvider
	for rows.Next() {
		p, err := scanOAuthProvider(rows)
		if err != nil {
			return nil, s.fail(err, "list", "OAuth providers of issuer", issuer)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list", "OAuth providers of issuer", issuer)
	}
	return out, nil
}

// PutOAuthProvider creates or replaces the organization's provider.
func (s *Store) PutOAuthProvider(ctx context.Context, p *auth.OAuthProvider) error {
	algs, err := jsonText(p.Algorithms)
	if err != nil {
		return s.fail(err, "update", "OAuth provider of organization", p.OrgID)
	}
	roles, err := jsonText(p.Roles)
	if err != nil {
		return s.fail(err, "update", "OAuth provider of organization", p.OrgID)
	}
	if _, err := s.exec(ctx, "INSERT INTO oauth_providers ("+oauthProviderCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"+
		" ON CONFLICT (org_id) DO UPDATE SET issuer = excluded.issuer, audience = excluded.audience, jwks_url = excluded.jwks_url,"+
		" algorithms = excluded.algorithms, scope_claim = excluded.scope_claim, role_claim = excluded.role_claim,"+
		" roles = excluded.roles, updated_at = excluded.updated_at",
		p.OrgID, p.Issuer, p.Audience, p.JWKSURL, algs, p.ScopeClaim, p.RoleClaim, roles, stamp(&p.UpdatedAt)); err != nil {
		return s.fail(err, "update", "OAuth provider of organization", p.OrgID)
	}
	return nil
}

// DeleteOAuthProvider removes the organization's provider.
func (s *Store) DeleteOAuthProvider(ctx context.Context, orgID string) error {
	n, err := s.exec(ctx, "DELETE FROM oauth_providers WHERE org_id = ?", orgID)
	if err != nil {
		return s.fail(err, "delete", "OAuth provider of organization", orgID)
	}
	return touched(n, "OAuth provider of organization", orgID)
}
