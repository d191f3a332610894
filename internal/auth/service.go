package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/page"
)

// SecretPrefix starts every API key secret, so that secret scanners can
// recognise a leaked key.
const SecretPrefix = "bsk_"

// Resources are the API resources a scope can name.
var Resources = []string{"organization", "customers", "products", "tax-rates", "invoices", "credit-notes", "payments", "api-keys", "audit", "ip-rules", "users"}

// ServerResources are the resources that act on the whole server rather
// than on the key's organization (the address rules protect every
// organization): only "*" or a scope naming the resource grants them, never
// the blanket "read" or "write", so that an ordinary integration key cannot
// lock everyone out.
var ServerResources = []string{"ip-rules"}

// RestrictedResources, like ServerResources, are granted only by "*" or a
// scope naming them, never by the blanket "read" or "write": the audit log
// tells who did what from where, which an ordinary integration key has no
// need to read; nor has it to invite people or change their roles.
var RestrictedResources = []string{"audit", "users"}

// FullAccess is the scope that allows everything.
const FullAccess = "*"

// Service runs the API key rules against a Store.
type Service struct {
	Store Store
	Now   func() time.Time
	// Used, if set, is told each time Authenticate records a key's use
	// (LastUsedAt, at most once a minute per key), after the record is
	// stored: the server appends it to the audit log.
	Used func(ctx context.Context, k *APIKey)

	// cache holds the keys recently read by Authenticate.
	cache keyCache
}

// keyCacheTTL is how long Authenticate trusts a key it read from the
// store. It bounds how late a revocation made by another process (another
// replica, the admin command) takes effect here; a revocation through this
// Service's Revoke takes effect at once. Expiry is not cached: it is
// checked at every request against the key's ExpiresAt.
const keyCacheTTL = 2 * time.Second

// keyCache maps the hash of a secret to its key, so that a busy client
// does not cost a database read per request. Freshness is measured on the
// monotonic clock of the process, not on Service.Now, because the bound it
// keeps is in real time: a test's fixed clock must not make it unbounded.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]cachedKey
	// gen counts revocations, so that a read begun before one is not
	// cached after it.
	gen uint64
}

type cachedKey struct {
	key     APIKey
	fetched time.Time
}

// get returns the fresh entry of the hash, if any, and the generation to
// pass to put.
func (c *keyCache) get(hash []byte) (e cachedKey, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok = c.keys[string(hash)]
	return e, c.gen, ok && time.Since(e.fetched) < keyCacheTTL
}

// put caches e unless a key was revoked since the generation gen.
func (c *keyCache) put(e cachedKey, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.keys == nil {
		c.keys = make(map[string]cachedKey)
	}
	// Entries of keys no longer used go when the map grows; a process
	// serves few keys, so this is rare.
	if len(c.keys) >= 1024 {
		for h, old := range c.keys {
			if time.Since(old.fetched) >= keyCacheTTL {
				delete(c.keys, h)
			}
		}
	}
	c.keys[string(e.key.Hash)] = e
}

// forget drops the key with the id from the cache.
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.keys {
		if e.key.ID == id {
			delete(c.keys, h)
		}
	}
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
	blanket := !slices.Contains(ServerResources, resource) && !slices.Contains(RestrictedResources, resource)
	for _, s := range scopes {
		switch s {
		case FullAccess, resource + ":write":
			return true
		case "write":
			if blanket {
				return true
			}
		case resource + ":read":
			if !write {
				return true
			}
		case "read":
			if !write && blanket {
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
			f.Add("scopes["+strconv.Itoa(i)+"]", "must be \"*\", \"read\", \"write\" or RESOURCE:read|write with RESOURCE one of %s", strings.Join(Resources, ", "))
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
// Unauthorized error that says nothing about why. The key is read from the
// store at most every keyCacheTTL; the caller gets its own copy.
func (s *Service) Authenticate(ctx context.Context, secret string) (*APIKey, error) {
	denied := func() error { return errs.E(errs.Unauthorized, "unauthenticated", "a valid API key is required") }
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) > 100 {
		return nil, denied()
	}
	hash := HashSecret(secret)
	e, gen, ok := s.cache.get(hash)
	if !ok {
		e.fetched = time.Now()
		stored, err := s.Store.GetAPIKeyByHash(ctx, hash)
		if errs.KindOf(err) == errs.NotFound {
			return nil, denied()
		}
		if err != nil {
			return nil, err
		}
		e.key = *stored
		s.cache.put(e, gen)
	}
	k := e.key
	now := s.Now()
	if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
		return nil, denied()
	}
	// Recording the last use at minute precision keeps a hot key from
	// writing on every request.
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		used := now.UTC()
		if err := s.Store.TouchAPIKey(ctx, k.ID, used); err != nil {
			return nil, err
		}
		k.LastUsedAt = &used
		e.key = k
		s.cache.put(e, gen) // as fresh as it was: the touch read nothing
		if s.Used != nil {
			s.Used(ctx, &k)
		}
	}
	return &k, nil
}

// Revoke revokes a key at once.
func (s *Service) Revoke(ctx context.Context, orgID, id string) (*APIKey, error) {
	if err := s.Store.RevokeAPIKey(ctx, orgID, id, s.Now().UTC()); err != nil {
		return nil, err
	}
	s.cache.forget(id)
	return s.Store.GetAPIKey(ctx, orgID, id)
}

// List lists the organization's keys, newest first.
func (s *Service) List(ctx context.Context, orgID string, p page.Params) ([]*APIKey, error) {
	return s.Store.ListAPIKeys(ctx, orgID, p)
}
