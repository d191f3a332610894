package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"bursar/internal/api"
	"bursar/internal/vault"
)

const idempotencyCols = "org_id, idem_key, method, path, request_hash, status, content_type, body, created_at"

var insertIdempotencySQL = insertSQL("idempotency_keys", idempotencyCols) + " ON CONFLICT (org_id, idem_key) DO NOTHING"

// ReserveIdempotencyKey inserts rec unless a record has its (OrgID, Key);
// then it returns that record and inserts nothing.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, rec *api.IdempotencyRecord) (*api.IdempotencyRecord, error) {
	// A reservation released between the insert and the read leaves
	// nothing to return; trying again then inserts.
	for range 3 {
		body, err := s.sealBody(ctx, rec)
		if err != nil {
			return nil, s.fail(err, "reserve", "idempotency key", rec.Key)
		}
		n, err := s.exec(ctx, insertIdempotencySQL, rec.OrgID, rec.Key, rec.Method, rec.Path, rec.RequestHash,
			rec.Status, rec.ContentType, body, stamp(&rec.CreatedAt))
		if err != nil {
			return nil, s.fail(err, "reserve", "idempotency key", rec.Key)
		}
		if n == 1 {
			return nil, nil
		}
		var e api.IdempotencyRecord
		err = s.queryRow(ctx, "SELECT "+idempotencyCols+" FROM idempotency_keys WHERE org_id = ? AND idem_key = ?",
			rec.OrgID, rec.Key).Scan(&e.OrgID, &e.Key, &e.Method, &e.Path, &e.RequestHash, &e.Status, &e.ContentType,
			&e.Body, timeDest{&e.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err == nil {
			err = s.openBody(ctx, &e)
		}
		if err != nil {
			return nil, s.fail(err, "read", "idempotency key", rec.Key)
		}
		return &e, nil
	}
	return nil, fmt.Errorf("%s: reserve idempotency key %s: reserved and released again and again", s.d.Name, rec.Key)
}

// CompleteIdempotencyKey stores the response of a reserved key.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec *api.IdempotencyRecord) error {
	body, err := s.sealBody(ctx, rec)
	if err != nil {
		return s.fail(err, "complete", "idempotency key", rec.Key)
	}
	n, err := s.exec(ctx, "UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE org_id = ? AND idem_key = ?",
		rec.Status, rec.ContentType, body, rec.OrgID, rec.Key)
	if err != nil {
		return s.fail(err, "complete", "idempotency key", rec.Key)
	}
	return touched(n, "idempotency key", rec.Key)
}

// ReleaseIdempotencyKey deletes a key that is still reserved (its request
// failed before anything was written), so that the client may retry. A
// completed key stays: its response is what a replay must get.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, orgID, key string) error {
	if _, err := s.exec(ctx, "DELETE FROM idempotency_keys WHERE org_id = ? AND idem_key = ? AND status = 0", orgID, key); err != nil {
		return s.fail(err, "release", "idempotency key", key)
	}
	return nil
}

// sealBody seals a stored response: it holds whatever the request
// returned, customers' personal data included. A record's body is bound
// to its organization and key.
func (s *Store) sealBody(ctx context.Context, rec *api.IdempotencyRecord) ([]byte, error) {
	if s.vault == nil || len(rec.Body) == 0 {
		return rec.Body, nil
	}
	return s.vault.Seal(ctx, rec.OrgID, "idempotency_keys", "body", rec.Key, rec.Body)
}

// openBody opens what sealBody sealed. A body in clear (stored before
// sealing existed) is JSON, which never starts with tink's prefix byte.
func (s *Store) openBody(ctx context.Context, rec *api.IdempotencyRecord) error {
	if _, sealed := vault.KeyID(rec.Body); !sealed {
		return nil
	}
	if s.vault == nil {
		return fmt.Errorf("idempotency_keys.body of %s: %w", rec.Key, errNoVault)
	}
	b, err := s.vault.Open(ctx, rec.OrgID, "idempotency_keys", "body", rec.Key, rec.Body)
	rec.Body = b
	return err
}
