// Package backup writes and reads Bursar's encrypted backup files: a
// header that names the format and the source, then the database snapshot
// encrypted with a tink streaming AEAD (AES256_GCM_HKDF_4KB), whose
// associated data is the header, so that neither can be swapped.
//
// The key is a tink keyset file, backup.key, created with mode 0600. It is
// not the vault's key-encryption key: whoever runs backups need not be
// able to open the sealed values in the database, and the backup key must
// be kept apart from the backups it opens (docs/backup.md).
package backup

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// KeyFile is the default name of the backup key in the data directory.
const KeyFile = "backup.key"

// magic starts every backup file.
const magic = "BURSAR-BACKUP-1\n"

// Header describes a backup; it is stored in clear and authenticated.
type Header struct {
	// Source is "sqlite" (a SQLite database file) or "postgres" (a
	// pg_dump archive in its custom format).
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
	// Schema is the highest migration the source had applied.
	Schema int `json:"schema"`
}

// LoadOrCreateKey reads the keyset at path, creating it with mode 0600
// when create is set and it does not exist. A key that others may read is
// refused.
func LoadOrCreateKey(path string, create bool) (tink.StreamingAEAD, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("backup: key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("backup: key file %s has mode %v: others may read it; make it 0600", filepath.Base(path), fi.Mode().Perm())
	}
	b, err := os.ReadFile(path) // #nosec G304 -- the operator's key file
	if err != nil {
		return nil, fmt.Errorf("backup: read key: %w", err)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(b)))
	if err != nil {
		return nil, fmt.Errorf("backup: key %s: %w", filepath.Base(path), err)
	}
	return streamingaead.New(h)
}

func createKey(path string) (tink.StreamingAEAD, error) {
	h, err := keyset.NewHandle(streamingaead.AES256GCMHKDF4KBKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("backup: create key: %w", err)
	}
	var buf bytes.Buffer
	// In clear by design, like the vault's key file: its mode and its
	// place (apart from the backups) protect it.
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("backup: encode key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- the operator's key file
	if err != nil {
		return nil, fmt.Errorf("backup: create key: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		_ = f.Close() // the write's error is the one to report
		return nil, fmt.Errorf("backup: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("backup: write key: %w", err)
	}
	return streamingaead.New(h)
}

// Encrypt writes the header and the encrypted content of src to w.
func Encrypt(w io.Writer, key tink.StreamingAEAD, h Header, src io.Reader) error {
	line, err := json.Marshal(h)
	if err != nil {
		return err
	}
	head := append([]byte(magic), append(line, '\n')...)
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	ew, err := key.NewEncryptingWriter(w, head)
	if err != nil {
		return fmt.Errorf("backup: encrypt: %w", err)
	}
	if _, err := io.Copy(ew, src); err != nil {
		_ = ew.Close() // the copy's error is the one to report
		return fmt.Errorf("backup: encrypt: %w", err)
	}
	if err := ew.Close(); err != nil {
		return fmt.Errorf("backup: encrypt: %w", err)
	}
	return nil
}

// Decrypt reads a backup's header and returns it with a reader of the
// content, which reports an error at the first byte that was changed.
func Decrypt(r io.Reader, key tink.StreamingAEAD) (Header, io.Reader, error) {
	var h Header
	br := bufio.NewReader(r)
	m := make([]byte, len(magic))
	if _, err := io.ReadFull(br, m); err != nil || string(m) != magic {
		return h, nil, errors.New("backup: not a Bursar backup file")
	}
	line, err := br.ReadBytes('\n')
	if err != nil || len(line) > 4096 {
		return h, nil, errors.New("backup: malformed header")
	}
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(&h); err != nil {
		return h, nil, fmt.Errorf("backup: malformed header: %w", err)
	}
	dr, err := key.NewDecryptingReader(br, append(m, line...))
	if err != nil {
		return h, nil, fmt.Errorf("backup: decrypt (wrong key?): %w", err)
	}
	return h, dr, nil
}
