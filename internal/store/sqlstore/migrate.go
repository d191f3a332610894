package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// migration is one numbered SQL file.
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// migrations reads the dialect's migration files: NNNN_name.sql, numbered
// from 1 without gaps.
func (s *Store) migrations() ([]migration, error) {
	if s.d.Migrations == nil {
		return nil, fmt.Errorf("%s: no migrations", s.d.Name)
	}
	entries, err := fs.ReadDir(s.d.Migrations, ".")
	if err != nil {
		return nil, fmt.Errorf("%s: migrations: %w", s.d.Name, err)
	}
	var ms []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("%s: migration file %q is not named NNNN_name.sql", s.d.Name, e.Name())
		}
		b, err := fs.ReadFile(s.d.Migrations, e.Name())
		if err != nil {
			return nil, fmt.Errorf("%s: migration %s: %w", s.d.Name, e.Name(), err)
		}
		v, _ := strconv.Atoi(m[1])
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("%s: migration %s: want version %d: versions must count up from 1 without gaps", s.d.Name, m.name, i+1)
		}
	}
	return ms, nil
}

// newerSchema is the error for a database migrated by a newer Bursar.
func (s *Store) newerSchema(current, known int) error {
	return fmt.Errorf("%s: the database schema is at version %d, newer than version %d, the newest this bursar knows: run a bursar at least as new as the one that migrated it",
		s.d.Name, current, known)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// Migrate applies the migrations the database lacks, each in one
// transaction together with its record in schema_migrations. It refuses to
// touch a database whose schema is newer than this binary knows. Processes
// migrating at once take turns: on PostgreSQL under an advisory lock, on
// SQLite under the write lock of each migration's transaction.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", s.d.Name, err)
	}
	defer conn.Close()
	if s.d.LockMigrations != nil {
		unlock, err := s.d.LockMigrations(ctx, conn)
		if err != nil {
			return fmt.Errorf("%s: migrate: lock: %w", s.d.Name, err)
		}
		defer unlock()
	}
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("%s: migrate: %w", s.d.Name, err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("%s: migrate: %w", s.d.Name, err)
	}
	switch {
	case current > len(ms):
		return s.newerSchema(current, len(ms))
	case current == len(ms):
		return nil
	}
	for _, m := range ms[current:] {
		if err := s.apply(ctx, conn, m, len(ms)); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration unless the database already has it, reading
// the current version inside the migration's own transaction.
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration, known int) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: migration %s: %w", s.d.Name, m.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var current int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("%s: migration %s: %w", s.d.Name, m.name, err)
	}
	if current > known {
		return s.newerSchema(current, known)
	}
	if current >= m.version {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("%s: migration %s: %w", s.d.Name, m.name, err)
	}
	now := time.Now()
	if _, err := tx.ExecContext(ctx, s.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, stamp(&now)); err != nil {
		return fmt.Errorf("%s: migration %s: %w", s.d.Name, m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: migration %s: commit: %w", s.d.Name, m.name, err)
	}
	return nil
}

// SchemaVersion reports the database's schema version (0 for an empty
// database) and the newest version this binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, known int, err error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, 0, err
	}
	known = len(ms)
	var tables int
	if err := s.db.QueryRowContext(ctx, s.rebind(s.d.TableExistsQuery), "schema_migrations").Scan(&tables); err != nil {
		return 0, known, fmt.Errorf("%s: schema version: %w", s.d.Name, err)
	}
	if tables == 0 {
		return 0, known, nil
	}
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return 0, known, fmt.Errorf("%s: schema version: %w", s.d.Name, err)
	}
	return current, known, nil
}
