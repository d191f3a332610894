// Package vault seals personal data and secrets at rest with envelope
// encryption. Each organization has its own data keys: a tink AEAD keyset
// (AES-256-GCM) and a blind-index key, both stored in the database wrapped
// by the key-encryption key (KEK). The KEK is any tink AEAD: by default a
// keyset file in the data directory (see LoadOrCreateKEKFile), or a cloud
// KMS key through tink's KMS clients.
//
// A sealed value is bound to organization, table, column and row by its
// associated data: a ciphertext copied to another row, column, table or
// organization does not open. Ciphertexts start with tink's output prefix,
// the id of the key that sealed them, so that a keyset can gain a new
// primary key (Rotate) while values sealed with older keys still open.
package vault

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// KEK is the key-encryption key: an AEAD that wraps and unwraps the
// organizations' data keys. It is tink's AEAD interface, so a keyset file
// (FileKEK), an AWS KMS key or a HashiCorp Vault transit key (tink's
// awskms and hcvault clients return a tink.AEAD) all fit.
type KEK = tink.AEAD

// WrappedKeys are an organization's data keys as the database keeps them:
// encrypted by the KEK.
type WrappedKeys struct {
	// Keyset is the tink AEAD keyset, encrypted by the KEK
	// (keyset.Handle.WriteWithAssociatedData).
	Keyset []byte
	// IndexKey is the blind-index key, encrypted by the KEK.
	IndexKey []byte
	// Version counts the changes of the row; an update names the version
	// it replaces, so that two rotations cannot overwrite each other.
	Version int64
	// Changed is when the keys were last created, rotated, rewrapped or
	// retired: Retire waits until every replica's cache has seen the
	// change.
	Changed time.Time
}

// Errors of the key store.
var (
	// ErrNoKeys reports that an organization has no data keys yet.
	ErrNoKeys = errors.New("vault: organization has no data keys")
	// ErrKeysChanged reports that the stored keys are no longer at the
	// version an update names, or were created by another writer first.
	ErrKeysChanged = errors.New("vault: organization keys changed meanwhile")
	// ErrCannotOpen reports a ciphertext that does not open: tampered,
	// moved to another row or column, or sealed with a key no longer held.
	ErrCannotOpen = errors.New("vault: value cannot be opened")
	// ErrKeysRecent reports keys changed too recently to retire any: a
	// replica may still seal with the previous primary key.
	ErrKeysRecent = errors.New("vault: keys changed too recently to retire old ones")
)

// ServerOwner is the owner of the installation's own key ring, which
// belongs to no organization and no user. Its blind-index key indexes
// what is looked up before its owner is known: the email a person signs
// in with names the user, so the index of users' and invitations' emails
// cannot be keyed by the user or an organization.
const ServerOwner = "server"

// KeyStore keeps the wrapped data keys of the organizations (the store
// implements it over the vault_keys table).
type KeyStore interface {
	// OrgKeys returns the organization's wrapped keys, or ErrNoKeys.
	// committed reports that they are durably stored, not only visible to
	// the transaction the context carries: only those may be cached.
	OrgKeys(ctx context.Context, org string) (w WrappedKeys, committed bool, err error)
	// CreateOrgKeys stores the first keys of an organization (Version 1),
	// or reports ErrKeysChanged if it has some already.
	CreateOrgKeys(ctx context.Context, org string, w WrappedKeys) error
	// UpdateOrgKeys replaces the keys whose version is w.Version-1 by w,
	// or reports ErrKeysChanged.
	UpdateOrgKeys(ctx context.Context, org string, w WrappedKeys) error
	// KeyOrgs lists the organizations that have keys.
	KeyOrgs(ctx context.Context) ([]string, error)
}

// DefaultCacheTTL is how long unwrapped keys stay in memory. A rotation on
// another replica is seen by this one at most this late: until then it
// seals with the previous primary key, which still opens everywhere.
const DefaultCacheTTL = time.Minute

// Vault seals and opens values with the organizations' data keys. It is
// safe for concurrent use.
type Vault struct {
	kek   KEK
	keys  KeyStore
	now   func() time.Time
	ttl   time.Duration
	mu    sync.Mutex
	cache map[string]*orgKeys
}

// orgKeys are an organization's unwrapped keys.
type orgKeys struct {
	aead     tink.AEAD
	primary  uint32
	ids      map[uint32]bool
	indexKey []byte
	loaded   time.Time
}

// Option configures a Vault.
type Option func(*Vault)

// WithClock sets the clock that ages cached keys.
func WithClock(now func() time.Time) Option { return func(v *Vault) { v.now = now } }

// WithCacheTTL sets how long unwrapped keys are cached; 0 disables the
// cache.
func WithCacheTTL(d time.Duration) Option { return func(v *Vault) { v.ttl = d } }

// New returns a vault whose data keys are kept by keys and wrapped by kek.
func New(kek KEK, keys KeyStore, opts ...Option) *Vault {
	v := &Vault{kek: kek, keys: keys, now: time.Now, ttl: DefaultCacheTTL, cache: map[string]*orgKeys{}}
	for _, o := range opts {
		o(v)
	}
	return v
}

// associatedData binds a value to where it is stored. Each part is length
// prefixed, so that no two different places share associated data.
func associatedData(purpose, org, table, column, rowID string) []byte {
	var b bytes.Buffer
	for _, s := range []string{"bursar-vault-v1", purpose, org, table, column, rowID} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s))) // #nosec G115 -- identifiers and names, far below 4 GiB
		b.Write(n[:])
		b.WriteString(s)
	}
	return b.Bytes()
}

// Seal encrypts plaintext for the row rowID of table.column of the
// organization, with the organization's primary data key. It creates the
// organization's keys at first use.
func (v *Vault) Seal(ctx context.Context, org, table, column, rowID string, plaintext []byte) ([]byte, error) {
	k, err := v.orgKeys(ctx, org)
	if err != nil {
		return nil, err
	}
	ct, err := k.aead.Encrypt(plaintext, associatedData("value", org, table, column, rowID))
	if err != nil {
		return nil, fmt.Errorf("vault: seal %s.%s: %w", table, column, err)
	}
	return ct, nil
}

// Open decrypts a ciphertext that Seal returned for the same organization,
// table, column and row. A ciphertext of another place, or tampered with,
// reports ErrCannotOpen.
func (v *Vault) Open(ctx context.Context, org, table, column, rowID string, ciphertext []byte) ([]byte, error) {
	k, err := v.orgKeys(ctx, org)
	if err != nil {
		return nil, err
	}
	if id, ok := KeyID(ciphertext); ok && !k.ids[id] {
		// Sealed with a key that another replica added after this one
		// cached the keyset: read the keys again.
		if k, err = v.reload(ctx, org); err != nil {
			return nil, err
		}
	}
	pt, err := k.aead.Decrypt(ciphertext, associatedData("value", org, table, column, rowID))
	if err != nil {
		return nil, fmt.Errorf("%w: %s.%s of %s", ErrCannotOpen, table, column, rowID)
	}
	return pt, nil
}

// textPrefix marks a sealed value kept in a text column.
const textPrefix = "sealed:"

// IsSealedText reports whether s is a value SealText returned (rather than
// text stored before sealing was introduced).
func IsSealedText(s string) bool { return strings.HasPrefix(s, textPrefix) }

// SealText seals s for a text column: the ciphertext in base64 behind a
// prefix. The empty string stays empty: it holds nothing to hide, and its
// length would tell as much.
func (v *Vault) SealText(ctx context.Context, org, table, column, rowID, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	ct, err := v.Seal(ctx, org, table, column, rowID, []byte(s))
	if err != nil {
		return "", err
	}
	return textPrefix + base64.RawStdEncoding.EncodeToString(ct), nil
}

// OpenText opens a value SealText returned. Text without the prefix was
// stored before sealing was introduced and is returned as it is, until the
// re-encryption job seals it (see docs/security/encryption.md).
func (v *Vault) OpenText(ctx context.Context, org, table, column, rowID, s string) (string, error) {
	if !IsSealedText(s) {
		return s, nil
	}
	ct, err := base64.RawStdEncoding.DecodeString(s[len(textPrefix):])
	if err != nil {
		return "", fmt.Errorf("%w: %s.%s of %s: malformed", ErrCannotOpen, table, column, rowID)
	}
	pt, err := v.Open(ctx, org, table, column, rowID, ct)
	return string(pt), err
}

// KeyID returns the id of the key that sealed ciphertext, from tink's
// output prefix (a version byte 0x01 and the id, big endian).
func KeyID(ciphertext []byte) (uint32, bool) {
	if len(ciphertext) < 5 || ciphertext[0] != 1 {
		return 0, false
	}
	return binary.BigEndian.Uint32(ciphertext[1:5]), true
}

// TextKeyID returns the id of the key that sealed a SealText value.
func TextKeyID(s string) (uint32, bool) {
	if !IsSealedText(s) {
		return 0, false
	}
	// Eight base64 characters hold the first six bytes: the prefix.
	enc := s[len(textPrefix):]
	if len(enc) < 8 {
		return 0, false
	}
	b, err := base64.RawStdEncoding.DecodeString(enc[:8])
	if err != nil {
		return 0, false
	}
	return KeyID(b)
}

// Current reports whether the text column value s is sealed with the
// organization's primary key; false for the empty string is never asked:
// an empty value is current.
func (v *Vault) Current(ctx context.Context, org, s string) (bool, error) {
	if s == "" {
		return true, nil
	}
	id, ok := TextKeyID(s)
	if !ok {
		return false, nil
	}
	k, err := v.orgKeys(ctx, org)
	if err != nil {
		return false, err
	}
	return id == k.primary, nil
}

// PrimaryKeyID returns the id of the organization's primary data key.
func (v *Vault) PrimaryKeyID(ctx context.Context, org string) (uint32, error) {
	k, err := v.orgKeys(ctx, org)
	if err != nil {
		return 0, err
	}
	return k.primary, nil
}

// BlindIndex returns a keyed hash of value for exact-match lookups on
// table.column: HMAC-SHA256 with the organization's blind-index key over
// the place and the value. The caller normalizes the value first (see
// NormalizeEmail). The empty value indexes as the empty string, so that
// "no value" is not one shared hash.
func (v *Vault) BlindIndex(ctx context.Context, org, table, column, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	k, err := v.orgKeys(ctx, org)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, k.indexKey)
	m.Write(associatedData("index", org, table, column, ""))
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

// NormalizeEmail is the form of an email address that its blind index
// hashes: trimmed and lower case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormalizeTaxID is the form of a tax identifier that its blind index
// hashes: upper case, without spaces, dots, dashes or slashes.
func NormalizeTaxID(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '/', '\t':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

// orgKeys returns the organization's keys from the cache, else from the
// key store, creating them when the organization has none.
func (v *Vault) orgKeys(ctx context.Context, org string) (*orgKeys, error) {
	v.mu.Lock()
	k, ok := v.cache[org]
	v.mu.Unlock()
	if ok && v.now().Sub(k.loaded) < v.ttl {
		return k, nil
	}
	return v.reload(ctx, org)
}

// reload reads the organization's keys from the key store.
func (v *Vault) reload(ctx context.Context, org string) (*orgKeys, error) {
	w, committed, err := v.keys.OrgKeys(ctx, org)
	if errors.Is(err, ErrNoKeys) {
		w, committed, err = v.create(ctx, org)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: keys of %s: %w", org, err)
	}
	k, err := v.unwrap(org, w)
	if err != nil {
		return nil, err
	}
	if committed && v.ttl > 0 {
		v.mu.Lock()
		v.cache[org] = k
		v.mu.Unlock()
	}
	return k, nil
}

// create makes and stores the first keys of an organization; if another
// writer stored some first, it reads theirs.
func (v *Vault) create(ctx context.Context, org string) (WrappedKeys, bool, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return WrappedKeys{}, false, err
	}
	idx := make([]byte, 32)
	if _, err := rand.Read(idx); err != nil {
		return WrappedKeys{}, false, err
	}
	w, err := v.wrap(org, h, idx)
	if err != nil {
		return WrappedKeys{}, false, err
	}
	w.Version = 1
	w.Changed = v.now()
	if err := v.keys.CreateOrgKeys(ctx, org, w); err != nil {
		if errors.Is(err, ErrKeysChanged) {
			return v.keys.OrgKeys(ctx, org)
		}
		return WrappedKeys{}, false, err
	}
	// Keys created in the caller's transaction are not cached: if it rolls
	// back they never existed. The next read caches them once committed.
	return w, false, nil
}

func (v *Vault) wrap(org string, h *keyset.Handle, indexKey []byte) (WrappedKeys, error) {
	var buf bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), v.kek, associatedData("keyset", org, "", "", "")); err != nil {
		return WrappedKeys{}, fmt.Errorf("vault: wrap keyset of %s: %w", org, err)
	}
	ik, err := v.kek.Encrypt(indexKey, associatedData("index-key", org, "", "", ""))
	if err != nil {
		return WrappedKeys{}, fmt.Errorf("vault: wrap index key of %s: %w", org, err)
	}
	return WrappedKeys{Keyset: buf.Bytes(), IndexKey: ik}, nil
}

func (v *Vault) unwrapHandle(org string, w WrappedKeys) (*keyset.Handle, []byte, error) {
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(w.Keyset)), v.kek, associatedData("keyset", org, "", "", ""))
	if err != nil {
		return nil, nil, fmt.Errorf("vault: unwrap keyset of %s (is this the right key-encryption key?): %w", org, err)
	}
	ik, err := v.kek.Decrypt(w.IndexKey, associatedData("index-key", org, "", "", ""))
	if err != nil {
		return nil, nil, fmt.Errorf("vault: unwrap index key of %s: %w", org, err)
	}
	return h, ik, nil
}

func (v *Vault) unwrap(org string, w WrappedKeys) (*orgKeys, error) {
	h, ik, err := v.unwrapHandle(org, w)
	if err != nil {
		return nil, err
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("vault: keyset of %s: %w", org, err)
	}
	info := h.KeysetInfo()
	ids := map[uint32]bool{}
	for _, ki := range info.GetKeyInfo() {
		ids[ki.GetKeyId()] = true
	}
	return &orgKeys{aead: a, primary: info.GetPrimaryKeyId(), ids: ids, indexKey: ik, loaded: v.now()}, nil
}

// Forget drops the organization's cached keys.
func (v *Vault) Forget(org string) {
	v.mu.Lock()
	delete(v.cache, org)
	v.mu.Unlock()
}

// Rotate adds a new AES-256-GCM key to the organization's data keyset and
// makes it primary at once: new values are sealed with it, values sealed
// with older keys still open. It returns the new key's id. The
// blind-index key does not change (see docs/security/encryption.md).
func (v *Vault) Rotate(ctx context.Context, org string) (uint32, error) {
	for attempt := 0; ; attempt++ {
		id, err := v.rotateOnce(ctx, org)
		if errors.Is(err, ErrKeysChanged) && attempt < 5 {
			continue
		}
		v.Forget(org)
		return id, err
	}
}

func (v *Vault) rotateOnce(ctx context.Context, org string) (uint32, error) {
	if _, err := v.reload(ctx, org); err != nil { // creates keys if none
		return 0, err
	}
	w, _, err := v.keys.OrgKeys(ctx, org)
	if err != nil {
		return 0, fmt.Errorf("vault: keys of %s: %w", org, err)
	}
	h, ik, err := v.unwrapHandle(org, w)
	if err != nil {
		return 0, err
	}
	m := keyset.NewManagerFromHandle(h)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return 0, fmt.Errorf("vault: rotate %s: %w", org, err)
	}
	if err := m.SetPrimary(id); err != nil {
		return 0, fmt.Errorf("vault: rotate %s: %w", org, err)
	}
	nh, err := m.Handle()
	if err != nil {
		return 0, fmt.Errorf("vault: rotate %s: %w", org, err)
	}
	nw, err := v.wrap(org, nh, ik)
	if err != nil {
		return 0, err
	}
	nw.Version, nw.Changed = w.Version+1, v.now()
	if err := v.keys.UpdateOrgKeys(ctx, org, nw); err != nil {
		return 0, err
	}
	return id, nil
}

// Rewrap wraps the organization's data keys again with the KEK's current
// primary key, after the KEK was rotated: the data keys, and so every
// sealed value, stay as they are.
func (v *Vault) Rewrap(ctx context.Context, org string) error {
	for attempt := 0; ; attempt++ {
		err := v.rewrapOnce(ctx, org)
		if errors.Is(err, ErrKeysChanged) && attempt < 5 {
			continue
		}
		v.Forget(org)
		return err
	}
}

func (v *Vault) rewrapOnce(ctx context.Context, org string) error {
	w, _, err := v.keys.OrgKeys(ctx, org)
	if err != nil {
		return fmt.Errorf("vault: keys of %s: %w", org, err)
	}
	h, ik, err := v.unwrapHandle(org, w)
	if err != nil {
		return err
	}
	nw, err := v.wrap(org, h, ik)
	if err != nil {
		return err
	}
	nw.Version, nw.Changed = w.Version+1, v.now()
	return v.keys.UpdateOrgKeys(ctx, org, nw)
}

// Orgs lists the organizations that have data keys.
func (v *Vault) Orgs(ctx context.Context) ([]string, error) { return v.keys.KeyOrgs(ctx) }
