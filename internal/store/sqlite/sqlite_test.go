package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
	"bursar/internal/store/storetest"
	"bursar/internal/vault"
)

func open(t *testing.T) *sqlstore.Store {
	t.Helper()
	kek, err := vault.EphemeralKEK()
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "data", "bursar.db"), sqlstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

// TestSettings proves the settings Open promises hold on every connection.
func TestSettings(t *testing.T) {
	st := open(t)
	conns := make([]interface{ Close() error }, 0, 3)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 3 { // distinct connections of the pool
		c, err := st.DB().Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "2"} {
			var got string
			if err := c.QueryRowContext(context.Background(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, pragma, got, want)
			}
		}
	}
}

// TestWriteTransactionsBeginImmediate proves that a transaction holds the
// write lock from its start, before its first statement: another
// connection cannot write meanwhile.
func TestWriteTransactionsBeginImmediate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bursar.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tx, err := st.DB().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Exec("CREATE TABLE t (x INTEGER)")
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("another connection's write while a transaction was open: err = %v, want database is locked: BEGIN is not IMMEDIATE", err)
	}
}

// TestOpenCreatesDirectory opens a database in a directory that does not
// exist yet.
func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "bursar.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// TestNoFloatingPoint keeps floating point types out of the schema.
func TestNoFloatingPoint(t *testing.T) { storetest.NoFloatingPoint(t, os.DirFS("migrations")) }

func TestVaultRotation(t *testing.T) { storetest.Rotation(t, open(t)) }

// TestSealedAtRest reads the database file and its write-ahead log as
// bytes: no personal value of the test may be found in them.
func TestSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	kek, err := vault.EphemeralKEK()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bursar.db")
	st, err := sqlite.Open(context.Background(), path, sqlstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	storetest.SealedAtRest(t, st, func(t *testing.T) []byte {
		var all []byte
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	})
}

func TestLegacyRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bursar.db")
	plain, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	kek, err := vault.EphemeralKEK()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sqlite.Open(context.Background(), path, sqlstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sealed.Close() })
	storetest.LegacyRows(t, plain, sealed)
}
