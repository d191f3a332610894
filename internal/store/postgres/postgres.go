// Package postgres opens Bursar's production store: a PostgreSQL database
// through pgx, with the schema migrations it embeds.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"bursar/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the key of the advisory lock under which processes take
// turns to migrate: "bursar" in ASCII.
const migrationLock = 0x627572736172

// Dialect is PostgreSQL's dialect of the store.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded: it exists
	}
	return sqlstore.Dialect{
		Name:             "postgres",
		NumberedParams:   true,
		ForUpdate:        " FOR UPDATE",
		ForShare:         " FOR SHARE",
		WritableCTE:      true,
		LockJob:          "SELECT pg_advisory_xact_lock(?)",
		Violated:         violated,
		TableExistsQuery: "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?",
		LockMigrations:   lockMigrations,
		Migrations:       sub,
	}
}

func violated(err error) sqlstore.Constraint {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return sqlstore.NoConstraint
	}
	switch e.Code {
	case "23505": // unique_violation
		return sqlstore.Unique
	case "23503": // foreign_key_violation
		return sqlstore.ForeignKey
	case "23514": // check_violation
		return sqlstore.Check
	}
	return sqlstore.NoConstraint
}

// lockMigrations takes a session advisory lock on conn, so that processes
// starting at once migrate one after the other.
func lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return nil, err
	}
	return func() {
		// The lock ends with the session anyway; a failed unlock only
		// keeps it until the connection closes.
		_, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	}, nil
}

// Open connects to the PostgreSQL database at url
// (postgres://user:password@host:5432/db?sslmode=...) and migrates it to
// the schema this binary knows.
func Open(ctx context.Context, url string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(25)
	db.SetMaxIdleConns(25)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Reads of invoice versions, one per GET of an invoice, go over a
	// pipelined connection of their own (version_reads.go).
	opts = append(opts[:len(opts):len(opts)], sqlstore.WithVersionReader(newVersionReads(url)))
	st := sqlstore.New(db, Dialect(), opts...)
	if err := st.Ping(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return st, nil
}
