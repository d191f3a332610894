package api

import (
	"context"
	"time"
)

// IdempotencyRecord is the first response to a POST carrying an
// Idempotency-Key, kept so that a replay gets the same answer.
type IdempotencyRecord struct {
	OrgID       string
	Key         string
	Method      string
	Path        string
	RequestHash string // SHA-256 (hex) of the request body
	// Status is 0 while the first request is still being handled.
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}

// IdempotencyStore keeps idempotency records.
type IdempotencyStore interface {
	// ReserveIdempotencyKey inserts rec (Status 0) if no record has its
	// (OrgID, Key); otherwise it returns the existing record and inserts
	// nothing.
	ReserveIdempotencyKey(ctx context.Context, rec *IdempotencyRecord) (existing *IdempotencyRecord, err error)
	// CompleteIdempotencyKey stores the response of a reserved key.
	CompleteIdempotencyKey(ctx context.Context, rec *IdempotencyRecord) error
	// ReleaseIdempotencyKey deletes a reserved key whose request failed
	// before anything was written, so that the client may retry.
	ReleaseIdempotencyKey(ctx context.Context, orgID, key string) error
}
