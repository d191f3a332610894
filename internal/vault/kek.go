package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// KEKFile is the name of the key-encryption key file in the data
// directory, where it is created at first start unless --kek-file names
// another place.
const KEKFile = "vault-kek.json"

// LoadOrCreateKEKFile reads the tink keyset (JSON, AES-256-GCM keys) at
// path and returns its AEAD, creating the file with one key and mode 0600
// when it does not exist. A file that others may read is refused. Every
// replica of an installation must be given the same file: it is the only
// way into the data keys kept in the database, so it belongs out of
// database backups and is itself backed up apart from them.
func LoadOrCreateKEKFile(path string) (KEK, error) {
	h, err := readKEKFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		h, err = createKEKFile(path)
	}
	if err != nil {
		return nil, err
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("vault: key-encryption key %s: %w", filepath.Base(path), err)
	}
	return a, nil
}

// RotateKEKFile adds a new AES-256-GCM key to the keyset file at path and
// makes it primary; the older keys stay, so data keys wrapped with them
// still unwrap until Rewrap wraps them again. It returns the new key id.
func RotateKEKFile(path string) (uint32, error) {
	h, err := readKEKFile(path)
	if err != nil {
		return 0, err
	}
	m := keyset.NewManagerFromHandle(h)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return 0, fmt.Errorf("vault: rotate key-encryption key: %w", err)
	}
	if err := m.SetPrimary(id); err != nil {
		return 0, fmt.Errorf("vault: rotate key-encryption key: %w", err)
	}
	nh, err := m.Handle()
	if err != nil {
		return 0, fmt.Errorf("vault: rotate key-encryption key: %w", err)
	}
	b, err := encodeKeyset(nh)
	if err != nil {
		return 0, err
	}
	// Write beside the file and rename over it, so that a crash leaves the
	// old file or the new one, never half of one.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kek-*")
	if err != nil {
		return 0, fmt.Errorf("vault: rotate key-encryption key: %w", err)
	}
	defer os.Remove(tmp.Name()) // #nosec G104 -- gone after the rename; a leftover is harmless
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close() // the write's error is the one to report
		return 0, fmt.Errorf("vault: rotate key-encryption key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return 0, fmt.Errorf("vault: rotate key-encryption key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("vault: rotate key-encryption key: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("vault: rotate key-encryption key: %w", err)
	}
	return id, nil
}

func encodeKeyset(h *keyset.Handle) ([]byte, error) {
	var buf bytes.Buffer
	// The KEK file holds the key in clear by design, like an SSH host key:
	// the file's mode and place protect it (or a KMS replaces it).
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("vault: encode key-encryption key: %w", err)
	}
	return buf.Bytes(), nil
}

func createKEKFile(path string) (*keyset.Handle, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("vault: create key-encryption key: %w", err)
	}
	b, err := encodeKeyset(h)
	if err != nil {
		return nil, err
	}
	// O_EXCL makes two processes starting at once agree on one key: the
	// loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- the operator's key file
	if errors.Is(err, fs.ErrExist) {
		return readKEKFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: create key-encryption key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close() // the write's error is the one to report
		return nil, fmt.Errorf("vault: write key-encryption key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("vault: write key-encryption key: %w", err)
	}
	return h, nil
}

func readKEKFile(path string) (*keyset.Handle, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("vault: key file %s has mode %v: others may read it; make it 0600", filepath.Base(path), fi.Mode().Perm())
	}
	b, err := os.ReadFile(path) // #nosec G304 -- the operator's key file
	if err != nil {
		return nil, fmt.Errorf("vault: read key-encryption key: %w", err)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(b)))
	if err != nil {
		return nil, fmt.Errorf("vault: key file %s is not a tink keyset: %w", filepath.Base(path), err)
	}
	return h, nil
}

// EphemeralKEK returns a fresh key-encryption key kept nowhere, for tests
// and benchmarks: what a vault seals under it is lost when the process
// ends.
func EphemeralKEK() (KEK, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("vault: ephemeral key-encryption key: %w", err)
	}
	return aead.New(h)
}
