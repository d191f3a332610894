package sqlstore

import (
	"context"
	"time"

	"bursar/internal/auth"
	"bursar/internal/page"
)

// InsertMembership gives a user a role in an organization.
func (s *Store) InsertMembership(ctx context.Context, m *auth.Membership) error {
	if _, err := s.exec(ctx, "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
		m.OrgID, m.UserID, m.Role, stamp(&m.CreatedAt)); err != nil {
		return s.fail(err, "insert", "membership of user", m.UserID)
	}
	return nil
}

// #nosec G101 -- a list of column names, not a credential.
const apiKeyCols = "id, org_id, name, prefix, hash, scopes, created_at, expires_at, last_used_at, revoked_at"

var insertAPIKeySQL = insertSQL("api_keys", apiKeyCols)

func scanAPIKey(sc scanner) (*auth.APIKey, error) {
	var k auth.APIKey
	return &k, sc.Scan(&k.ID, &k.OrgID, &k.Name, &k.Prefix, &k.Hash, jsonDest{&k.Scopes}, timeDest{&k.CreatedAt},
		nullTimeDest{&k.ExpiresAt}, nullTimeDest{&k.LastUsedAt}, nullTimeDest{&k.RevokedAt})
}

// InsertAPIKey stores a new API key; its hash is unique.
func (s *Store) InsertAPIKey(ctx context.Context, k *auth.APIKey) error {
	scopes, err := jsonText(k.Scopes)
	if err != nil {
		return s.fail(err, "insert", "API key", k.ID)
	}
	if _, err := s.exec(ctx, insertAPIKeySQL, k.ID, k.OrgID, k.Name, k.Prefix, k.Hash, scopes, stamp(&k.CreatedAt),
		stampPtr(&k.ExpiresAt), stampPtr(&k.LastUsedAt), stampPtr(&k.RevokedAt)); err != nil {
		return s.fail(err, "insert", "API key", k.ID)
	}
	return nil
}

// GetAPIKeyByHash finds a key by the hash of its secret, in any
// organization.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (*auth.APIKey, error) {
	k, err := scanAPIKey(s.queryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE hash = ?", hash))
	if err := s.getOne(err, "API key", "(by secret)"); err != nil {
		return nil, err
	}
	return k, nil
}

// GetAPIKey reads an API key of the organization.
func (s *Store) GetAPIKey(ctx context.Context, orgID, id string) (*auth.APIKey, error) {
	k, err := scanAPIKey(s.queryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE org_id = ? AND id = ?", orgID, id))
	if err := s.getOne(err, "API key", id); err != nil {
		return nil, err
	}
	return k, nil
}

// ListAPIKeys lists the organization's API keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string, p page.Params) ([]*auth.APIKey, error) {
	q, args := newList(orgID).sql(apiKeyCols, "api_keys", p)
	return list(ctx, s, "API keys", q, args, scanAPIKey)
}

// RevokeAPIKey marks a key revoked at the given time; a revoked key keeps
// its first revocation time.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, id string, at time.Time) error {
	n, err := s.exec(ctx, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE org_id = ? AND id = ?",
		stamp(&at), orgID, id)
	if err != nil {
		return s.fail(err, "revoke", "API key", id)
	}
	return touched(n, "API key", id)
}

// TouchAPIKey records that the key was used at the given time. It names
// the key by id alone: the caller has just authenticated it by its secret.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := s.exec(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", stamp(&at), id)
	if err != nil {
		return s.fail(err, "touch", "API key", id)
	}
	return touched(n, "API key", id)
}
