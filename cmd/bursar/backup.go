package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"

	"bursar/internal/backup"
	"bursar/internal/store/sqlite"
)

const (
	backupSynopsis  = "backup --out FILE [--backup-key FILE] [flags]"
	restoreSynopsis = "restore FILE --data-dir DIR --backup-key FILE"
)

// runBackup writes a consistent, encrypted snapshot of the database while
// the server runs: SQLite's VACUUM INTO (one read transaction) or, for
// PostgreSQL, pg_dump (one repeatable-read transaction), streamed through
// the backup key.
func runBackup(ctx context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "backup", backupSynopsis)
	var sf storeFlags
	sf.register(fs)
	out := fs.String("out", "", "the backup file to write (refused if it exists)")
	keyPath := fs.String("backup-key", "", "the backup key (tink keyset), created with mode 0600 if missing (default: backup.key in the data directory); keep a copy apart from the backups")
	pgDump := fs.String("pg-dump", "pg_dump", "the pg_dump program, for PostgreSQL")
	if err := parse(io, fs, args); err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if *keyPath == "" {
		*keyPath = filepath.Join(sf.dataDir, backup.KeyFile)
	}
	key, err := backup.LoadOrCreateKey(*keyPath, true)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- the operator names the file
	if err != nil {
		return usagef("invalid --out %q: %v", *out, err)
	}
	done := false
	defer func() {
		if !done {
			_ = f.Close()           // the failure that got here is the one to report
			_ = os.Remove(f.Name()) // no half-written backup is left to trust
		}
	}()
	h := backup.Header{CreatedAt: time.Now().UTC()}
	if sf.databaseURL != "" {
		h.Source = "postgres"
		err = backupPostgres(ctx, f, key, h, *pgDump, sf.databaseURL)
	} else {
		h.Source = "sqlite"
		err = backupSQLite(ctx, f, key, h, sf.dataDir)
	}
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	done = true
	fmt.Fprintf(io.stdout, "backup of %s written to %s\n", h.Source, *out)
	return nil
}

// backupSQLite snapshots the database with VACUUM INTO, a read
// transaction that writers do not wait for under WAL, into a file in the
// data directory (as well protected as the database), encrypts that and
// removes it.
func backupSQLite(ctx context.Context, w io.Writer, key tink.StreamingAEAD, h backup.Header, dataDir string) error {
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "bursar.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	tmp := filepath.Join(dataDir, fmt.Sprintf(".backup-%d.db", time.Now().UnixNano()))
	defer os.Remove(tmp) // #nosec G104 -- a snapshot in clear must not stay; it may not exist
	if _, err := st.DB().ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	snap, err := os.Open(tmp) // #nosec G304 -- the snapshot just written
	if err != nil {
		return err
	}
	defer snap.Close()
	return backup.Encrypt(w, key, h, snap)
}

// backupPostgres streams pg_dump's custom-format archive, which pg_dump
// takes in one snapshot, through the key.
func backupPostgres(ctx context.Context, w io.Writer, key tink.StreamingAEAD, h backup.Header, pgDump, url string) error {
	cmd := exec.CommandContext(ctx, pgDump, "--format=custom", "--no-owner", "--no-privileges", "--dbname", url) // #nosec G204 -- the operator's program and database
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", pgDump, err)
	}
	encErr := backup.Encrypt(w, key, h, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %w", pgDump, err)
	}
	return encErr
}

// runRestore decrypts a backup into an empty data directory (SQLite), or
// into a PostgreSQL archive file for pg_restore. It never overwrites.
func runRestore(ctx context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "restore", restoreSynopsis)
	dataDir := fs.String("data-dir", "", "the directory to restore a SQLite backup into: must not exist or be empty")
	keyPath := fs.String("backup-key", "", "the backup key the backup was made with")
	archive := fs.String("pg-archive", "", "for a PostgreSQL backup: write the pg_dump archive to this file, for pg_restore")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return parse(io, fs, args)
		}
		return usagef("want the backup file first: bursar %s", restoreSynopsis)
	}
	file := args[0]
	if err := parse(io, fs, args[1:]); err != nil {
		return err
	}
	if *keyPath == "" {
		return usagef("--backup-key is required")
	}
	key, err := backup.LoadOrCreateKey(*keyPath, false)
	if err != nil {
		return err
	}
	in, err := os.Open(file) // #nosec G304,G703 -- the operator names the backup file on the command line
	if err != nil {
		return usagef("invalid backup file %q: %v", file, err)
	}
	defer in.Close()
	h, content, err := backup.Decrypt(in, key)
	if err != nil {
		return err
	}
	switch h.Source {
	case "sqlite":
		if *dataDir == "" {
			return usagef("--data-dir is required for a SQLite backup")
		}
		if err := restoreSQLite(ctx, content, *dataDir); err != nil {
			return err
		}
		fmt.Fprintf(io.stdout, "restored the backup of %s into %s; copy the key files (audit-*.key, %s) from where you keep them before serving\n",
			h.CreatedAt.Format(time.RFC3339), *dataDir, "vault-kek.json")
	case "postgres":
		if *archive == "" {
			return usagef("--pg-archive is required for a PostgreSQL backup (then run pg_restore, see docs/backup.md)")
		}
		if err := writeNew(*archive, content); err != nil {
			return err
		}
		fmt.Fprintf(io.stdout, "wrote the pg_dump archive of %s to %s; restore it with pg_restore into an empty database\n", h.CreatedAt.Format(time.RFC3339), *archive)
	default:
		return fmt.Errorf("backup of unknown source %q", h.Source)
	}
	return nil
}

// restoreSQLite writes the database into dir, which must not exist or be
// empty, and checks it before giving it its name.
func restoreSQLite(ctx context.Context, content io.Reader, dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return usagef("invalid --data-dir %q: %v", dir, err)
		}
	case err != nil:
		return usagef("invalid --data-dir %q: %v", dir, err)
	case len(entries) > 0:
		return usagef("invalid --data-dir %q: not empty; restore only into an empty directory", dir)
	}
	tmp := filepath.Join(dir, ".restore.db")
	if err := writeNew(tmp, content); err != nil {
		_ = os.Remove(tmp) // a partial database must not be taken for one
		return err
	}
	final := filepath.Join(dir, "bursar.db")
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	// Opening checks the schema against this binary's migrations.
	st, err := sqlite.Open(ctx, final)
	if err != nil {
		return fmt.Errorf("restored database: %w", err)
	}
	defer st.Close()
	var ok string
	if err := st.DB().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("restored database fails its integrity check: %v %s", err, ok)
	}
	return nil
}

// writeNew copies r into a new file of mode 0600.
func writeNew(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- the operator names the file
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close() // the copy's error (a tampered backup) is the one to report
		return fmt.Errorf("restore: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
