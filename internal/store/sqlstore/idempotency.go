package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"bursar/internal/api"
)

const idempotencyCols = "org_id, idem_key, method, path, request_hash, status, content_type, body, created_at"

var insertIdempotencySQL = insertSQL("idempotency_keys", idempotencyCols) + " ON CONFLICT (org_id, idem_key) DO NOTHING"

// ReserveIdempotencyKey inserts rec unless a record has its (OrgID, Key);
// then it returns that record and inserts nothing.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, rec *api.IdempotencyRecord) (*api.IdempotencyRecord, error) {
	// A reservation released between the insert and the read leaves
	// nothing to return; trying again then inserts.
	for range 3 {
		n, err := s.exec(ctx, insertIdempotencySQL, rec.OrgID, rec.Key, rec.Method, rec.Path, rec.RequestHash,
			rec.Status, rec.ContentType, rec.Body, stamp(&rec.CreatedAt))
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
		if err != nil {
			return nil, s.fail(err, "read", "idempotency key", rec.Key)
		}
		return &e, nil
	}
	return nil, fmt.Errorf("%s: reserve idempotency key %s: reserved and released again and again", s.d.Name, rec.Key)
}

// CompleteIdempotencyKey stores the response of a reserved key.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec *api.IdempotencyRecord) error {
	n, err := s.exec(ctx, "UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE org_id = ? AND idem_key = ?",
		rec.Status, rec.ContentType, rec.Body, rec.OrgID, rec.Key)
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
