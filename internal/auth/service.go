package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"slices"
	"strconv"
	"strings"
	"time"

	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/page"
)

// SecretPrefix starts every API key secret, so that secret scanners can
// recognise a leaked key.
const SecretPrefix = "bsk_"

// Resources are the API resources a scope can name.
var Resources = []string{"organization", "customers", "products", "tax-rates", "invoices", "credit-notes", "payments", "api-keys"}

// FullAccess is the scope that allows everything.
const FullAccess = "*"

// Service runs the API key rules against a Store.
type Service struct {
	Store Store
	Now   func() time.Time
}

// HashSecret returns the stored form of a secret. The secret carries 160
// random bits, so a fast hash suffices: there is nothing to brute-force.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ValidScope reports whether s is "*", "read", "write", "RESOURCE:read" or
// "RESOURCE:write".
func ValidScope(s string) bool {
	if s == FullAccess || s == "read" || s == "write" {
		return true
	}
	res, access, ok := strings.Cut(s, ":")
	return ok && (access == "read" || access == "write") && slices.Contains(Resources, res)
}

// Allows reports whether scopes permit the access to the resource. Write
// implies read.
func Allows(scopes []string, resource string, write bool) bool {
	for _, s := range scopes {
		switch s {
		case FullAccess, "write", resource + ":write":
			return true
		case "read", resource + ":read":
			if !write {
				return true
			}
		}
	}
	return false
}

// CreateAPIKey makes a key for the organization and returns it with its
// secret, which is not stored and cannot be shown again.
func (s *Service) CreateAPIKey(ctx context.Context, orgID, name string, scopes []string, expiresAt *time.Time) (*APIKey, string, error) {
	var f errs.Fields
	if len(name) > 100 {
		f.Add("name", "must be at most 100 characters")
	}
	if len(scopes) == 0 {
		f.Add("scopes", "must list at least one scope, such as \"*\", \"read\" or \"invoices:write\"")
	}
	for i, sc := range scopes {
		if !ValidScope(sc) {
			f.Add("scopes["+itoa(i)+"]", "must be \"*\", \"read\", \"write\" or RESOURCE:read|write with RESOURCE one of %s", strings.Join(Resources, ", "))
		}
	}
	now := s.Now().UTC()
	if expiresAt != nil && !expiresAt.After(now) {
		f.Add("expires_at", "must be in the future")
	}
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, "", err
	}
	secret := SecretPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))
	k := &APIKey{
		ID: ident.New("key", now), OrgID: orgID, Name: name, Prefix: secret[:len(SecretPrefix)+6],
		Hash: HashSecret(secret), Scopes: slices.Clone(scopes), CreatedAt: now, ExpiresAt: expiresAt,
	}
	if err := s.Store.InsertAPIKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// Authenticate returns the live key whose secret is given, or an
// Unauthorized error that says nothing about why.
func (s *Service) Authenticate(ctx context.Context, secret string) (*APIKey, error) {
	denied := errs.E(errs.Unauthorized, "unauthenticated", "a valid API key is required")
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) > 100 {
		return nil, denied
	}
	k, err := s.Store.GetAPIKeyByHash(ctx, HashSecret(secret))
	if errs.KindOf(err) == errs.NotFound {
		return nil, denied
	}
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
		return nil, denied
	}
	// Recording the last use at minute precision keeps a hot key from
	// writing on every request.
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		if err := s.Store.TouchAPIKey(ctx, k.ID, now.UTC()); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Revoke revokes a key at once.
func (s *Service) Revoke(ctx context.Context, orgID, id string) (*APIKey, error) {
	if err := s.Store.RevokeAPIKey(ctx, orgID, id, s.Now().UTC()); err != nil {
		return nil, err
	}
	return s.Store.GetAPIKey(ctx, orgID, id)
}

// List lists the organization's keys, newest first.
func (s *Service) List(ctx context.Context, orgID string, p page.Params) ([]*APIKey, error) {
	return s.Store.ListAPIKeys(ctx, orgID, p)
}

func itoa(i int) string { return strconv.Itoa(i) }
