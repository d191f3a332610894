package audit

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Hasher turns a personal value into the keyed hash that stands for it in
// the log. It is an interface so that the vault can supply the key later.
type Hasher interface {
	// HashPersonal returns "hmac-sha256:" and the hex HMAC of the value,
	// bound to the tree (organization) it is logged in.
	HashPersonal(tree string, value []byte) string
}

// HMACKey is a Hasher over a secret key.
type HMACKey []byte

// HashPersonal implements Hasher. The tree is part of the message, so the
// same value hashes differently in two organizations and their logs
// cannot be joined on it.
func (k HMACKey) HashPersonal(tree string, value []byte) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte("bursar-audit-v1\x00"))
	m.Write([]byte(tree))
	m.Write([]byte{0})
	m.Write(value)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// SignerName is the name of the key that signs checkpoints, the first
// part of the verifier key an auditor is given.
const SignerName = "bursar-audit"

// The key files in the data directory.
const (
	HMACKeyFile    = "audit-hmac.key"
	SigningKeyFile = "audit-signing.key"
)

// Keys are the installation's audit keys.
type Keys struct {
	Hasher   Hasher
	Signer   note.Signer
	Verifier note.Verifier
	// VerifierKey is the public verifier key in note format, for auditors.
	VerifierKey string
}

// LoadOrCreateKeys reads the audit keys from dir, creating any that is
// missing with mode 0600. A key file that others may read is refused:
// whoever reads the signing key can re-sign a rewritten history. Every
// replica of an installation must be given the same files.
func LoadOrCreateKeys(dir string) (*Keys, error) {
	hk, err := loadOrCreate(filepath.Join(dir, HMACKeyFile), func() ([]byte, error) {
		var k [32]byte
		if _, err := rand.Read(k[:]); err != nil {
			return nil, err
		}
		return []byte(hex.EncodeToString(k[:]) + "\n"), nil
	})
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(hk)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("audit: %s: want at least 32 bytes in hex", HMACKeyFile)
	}
	sk, err := loadOrCreate(filepath.Join(dir, SigningKeyFile), func() ([]byte, error) {
		skey, _, err := note.GenerateKey(rand.Reader, SignerName)
		return []byte(skey + "\n"), err
	})
	if err != nil {
		return nil, err
	}
	k, err := NewKeys(HMACKey(key), strings.TrimSpace(string(sk)))
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", SigningKeyFile, err)
	}
	return k, nil
}

// NewKeys returns the keys of a hasher and a note signer key
// ("PRIVATE+KEY+name+hash+base64").
func NewKeys(h Hasher, signerKey string) (*Keys, error) {
	s, err := note.NewSigner(signerKey)
	if err != nil {
		return nil, err
	}
	vkey, err := verifierKeyOf(signerKey)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Keys{Hasher: h, Signer: s, Verifier: v, VerifierKey: vkey}, nil
}

// verifierKeyOf derives the public verifier key from a signer key
// ("PRIVATE+KEY+name+hash+base64(algorithm byte, Ed25519 seed)").
func verifierKeyOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5) // base64 may hold "+"
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("malformed signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("signer key is not an Ed25519 key")
	}
	priv := ed25519.NewKeyFromSeed(raw[1:])
	return note.NewEd25519VerifierKey(parts[2], priv.Public().(ed25519.PublicKey))
}

// loadOrCreate reads the file at path, or creates it with the bytes make
// returns when it does not exist. O_EXCL makes two processes starting at
// once agree on one key: the loser reads the winner's.
func loadOrCreate(path string, make func() ([]byte, error)) ([]byte, error) {
	b, err := readPrivate(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	data, err := make()
	if err != nil {
		return nil, fmt.Errorf("audit: create %s: %w", filepath.Base(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- the operator's data directory
	if errors.Is(err, fs.ErrExist) {
		return readPrivate(path)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: create key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close() // the write's error is the one to report
		return nil, fmt.Errorf("audit: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("audit: write key: %w", err)
	}
	return data, nil
}

func readPrivate(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit: key file %s has mode %v: others may read it; make it 0600", filepath.Base(path), fi.Mode().Perm())
	}
	b, err := os.ReadFile(path) // #nosec G304 -- the operator's data directory
	if err != nil {
		return nil, fmt.Errorf("audit: read key: %w", err)
	}
	return b, nil
}

// EphemeralKeys returns fresh keys kept nowhere, for tests and benchmarks:
// checkpoints signed with them cannot be verified after the process ends.
func EphemeralKeys() (*Keys, error) {
	var hk [32]byte
	if _, err := rand.Read(hk[:]); err != nil {
		return nil, err
	}
	skey, _, err := note.GenerateKey(rand.Reader, SignerName)
	if err != nil {
		return nil, err
	}
	return NewKeys(HMACKey(hk[:]), skey)
}
