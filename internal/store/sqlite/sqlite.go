// Package sqlite opens Bursar's embedded store: a SQLite file through
// modernc.org/sqlite (pure Go, no cgo), with the schema migrations it
// embeds.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"bursar/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is SQLite's dialect of the store.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded: it exists
	}
	return sqlstore.Dialect{
		Name: "sqlite",
		// Every write transaction begins IMMEDIATE, taking the database's
		// one write lock at once, so a read inside it is never upgraded
		// into a deadlock; FOR UPDATE has nothing left to add.
		ForUpdate: "",
		// Writers of one process queue in Go, first come first served,
		// rather than poll in SQLite's busy handler, whose sleeps grow to
		// 100 ms; other processes still wait up to busy_timeout.
		SerializeWriters:  true,
		PrepareStatements: true,
		Violated:          violated,
		TableExistsQuery:  "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
		Migrations:        sub,
	}
}

func violated(err error) sqlstore.Constraint {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.NoConstraint
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqlstore.Unique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.ForeignKey
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return sqlstore.Check
	}
	return sqlstore.NoConstraint
}

// dsn returns the data source name Open uses for the file at path: WAL,
// foreign keys on, a busy timeout of 10 s, synchronous FULL and write
// transactions that begin IMMEDIATE.
//
// synchronous=FULL syncs the WAL at every commit. NORMAL would be faster
// and still never corrupt the file, but a power cut could then lose the
// last commits: a finalized invoice whose number was already mailed to a
// customer could vanish and its number be issued again to another invoice.
// Gap-free, never-reused numbers are a legal duty, so commits are durable.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	return (&url.URL{Scheme: "file", Path: path}).String() + "?" + q.Encode()
}

// Open opens (creating it and its directory if needed) the SQLite database
// at path and migrates it to the schema this binary knows.
func Open(ctx context.Context, path string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	// Readers run in parallel under WAL; writers take turns anyway.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	st := sqlstore.New(db, Dialect(), opts...)
	if err := st.Ping(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open %s: %w", abs, err), db.Close())
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return st, nil
}
