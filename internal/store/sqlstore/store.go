// Package sqlstore is Bursar's storage over database/sql: one
// implementation of every domain package's Store interface, written once in
// SQL that both PostgreSQL and SQLite accept. A small Dialect carries the few
// differences (placeholders, row locks, constraint errors, how migrations
// are serialized); the sqlite and postgres packages open a database, choose
// the dialect and run the migrations they embed.
//
// Every tenant-owned row carries org_id and every query filters by it: an
// object of another organization is reported exactly like a missing one.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"

	"bursar/internal/api"
	"bursar/internal/auth"
	"bursar/internal/catalog"
	"bursar/internal/customer"
	"bursar/internal/errs"
	"bursar/internal/invoice"
	"bursar/internal/org"
	"bursar/internal/vault"
)

// The store implements every storage contract of the domain packages.
var (
	_ invoice.Store        = (*Store)(nil)
	_ customer.Store       = (*Store)(nil)
	_ catalog.Store        = (*Store)(nil)
	_ org.Store            = (*Store)(nil)
	_ auth.Store           = (*Store)(nil)
	_ api.IdempotencyStore = (*Store)(nil)
)

// Constraint is the kind of integrity constraint a statement violated.
type Constraint int

// The constraint kinds the store tells apart.
const (
	NoConstraint Constraint = iota
	Unique
	ForeignKey
	Check
)

// Dialect is what differs between the databases the store runs on.
type Dialect struct {
	// Name names the database in errors: "sqlite", "postgres".
	Name string
	// NumberedParams rewrites the ? placeholders of the store's queries to
	// $1, $2, ... as PostgreSQL wants them.
	NumberedParams bool
	// ForUpdate is appended to a SELECT that must lock the rows it reads
	// until the transaction ends; empty where a write transaction already
	// excludes every other writer (SQLite).
	ForUpdate string
	// ForShare is appended to a SELECT that must keep the rows it reads
	// from changing until the transaction ends, while letting others read
	// them the same way; empty on SQLite, as ForUpdate.
	ForShare string
	// WritableCTE says the database runs an INSERT inside a WITH clause of
	// another statement (PostgreSQL), so that two inserts take one round
	// trip.
	WritableCTE bool
	// PrepareStatements keeps each query prepared on each connection, for
	// drivers that would otherwise parse it at every call; pgx caches its
	// prepared statements itself.
	PrepareStatements bool
	// SerializeWriters makes the store run one write at a time within the
	// process, waiting in Go rather than in the database's busy handler.
	SerializeWriters bool
	// Violated tells which constraint, if any, err reports as violated.
	Violated func(err error) Constraint
	// TableExistsQuery counts the tables named by its one parameter.
	TableExistsQuery string
	// LockJob takes a lock, held until the transaction ends, under which
	// the transactions of one job (named by the statement's one int64
	// parameter) take turns across processes; empty where a write
	// transaction already excludes every other writer (SQLite).
	LockJob string
	// LockMigrations, if set, takes a lock that serializes migrations
	// across processes, held on conn until unlock is called.
	LockMigrations func(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
	// Migrations holds the numbered SQL files NNNN_name.sql at its root.
	Migrations fs.FS
}

// Store keeps Bursar's objects in one SQL database. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
	d  Dialect
	// writer is a one-slot semaphore held by the transaction or statement
	// that writes, when the dialect serializes writers; nil otherwise.
	writer chan struct{}
	// stmts holds the prepared statements by query, when the dialect
	// prepares statements.
	stmts sync.Map
	// caches keep decoded JSON columns of documents (see textCache).
	caches documentCaches
	// vault seals personal data and secrets; nil without a key-encryption
	// key (see WithKEK).
	vault *vault.Vault
	// auditHashes keeps the audit hashes this process committed (see
	// audit.go).
	auditHashes auditHashCache
	// versions reads invoice versions outside transactions, where the
	// driver offers a faster way than the pool (see WithVersionReader).
	versions VersionReader
}

// VersionReader reads an invoice's version outside any transaction, the
// one read every GET of an invoice makes (see InvoiceVersion), faster
// than a query from the pool. Its read must never be older than its call:
// it shows every change committed before the call began, on any replica.
// When it cannot answer (ok false: a lost connection, a server error, a
// cancelled context) the store asks the pool, so that its failures are
// never the caller's.
type VersionReader interface {
	ReadVersion(ctx context.Context, orgID, id string) (version int, found, ok bool)
	Close() error
}

// WithVersionReader makes the store read invoice versions outside
// transactions with r, which it closes on Close.
func WithVersionReader(r VersionReader) Option {
	return func(s *Store) { s.versions = r }
}

// New returns a store over db, which it owns from now on (Close closes it).
// It does not migrate: call Migrate.
func New(db *sql.DB, d Dialect, opts ...Option) *Store {
	s := &Store{db: db, d: d, caches: newDocumentCaches(), auditHashes: newAuditHashCache(auditHashCacheSize)}
	for _, o := range opts {
		o(s)
	}
	if d.SerializeWriters {
		s.writer = make(chan struct{}, 1)
	}
	return s
}

// DB returns the underlying database, for tools and benchmarks.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.Range(func(_, v any) bool {
		// Closing the database below releases every statement anyway; its
		// error is the one worth returning.
		_ = v.(*sql.Stmt).Close()
		return true
	})
	var err error
	if s.versions != nil {
		err = s.versions.Close()
	}
	return errors.Join(s.db.Close(), err)
}

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("%s: ping: %w", s.d.Name, err)
	}
	return nil
}

// txKey carries a store's transaction in a context. The store is part of
// the key, so that a transaction of one database is never used for another.
type txKey struct{ s *Store }

// txState is a transaction and what is to happen once it commits.
type txState struct {
	tx          *sql.Tx
	afterCommit []func()
}

func (s *Store) txOf(ctx context.Context) *sql.Tx {
	if st := s.txStateOf(ctx); st != nil {
		return st.tx
	}
	return nil
}

func (s *Store) txStateOf(ctx context.Context) *txState {
	st, _ := ctx.Value(txKey{s}).(*txState)
	return st
}

// InTx runs fn in one transaction carried by the context passed to fn:
// every store call made with that context is part of it. It commits when fn
// returns nil and rolls back otherwise (and on panic). A nested InTx joins
// the outer transaction. On PostgreSQL the transaction runs at the server's
// default isolation, READ COMMITTED, and takes row locks as it goes (see
// GetInvoice); on SQLite it holds the write lock from its start (BEGIN
// IMMEDIATE), and writes are serialized: inside fn, write only with the
// context fn is given, as a write with any other context would wait for
// this transaction to end.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.txOf(ctx) != nil {
		return fn(ctx)
	}
	release, err := s.lockWriter(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", s.d.Name, err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback() // a panic is on its way; its cause matters, not this
		}
	}()
	st := &txState{tx: tx}
	err = fn(context.WithValue(ctx, txKey{s}, st))
	done = true // fn returned: no panic
	if err != nil {
		_ = tx.Rollback() // the error of fn is the one to report
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", s.d.Name, err)
	}
	for _, f := range st.afterCommit {
		f()
	}
	return nil
}

// lockWriter takes the writer slot when the dialect serializes writers.
func (s *Store) lockWriter(ctx context.Context) (release func(), err error) {
	if s.writer == nil {
		return func() {}, nil
	}
	select {
	case s.writer <- struct{}{}:
		return func() { <-s.writer }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// on returns the context's transaction, or else the pool.
func (s *Store) on(ctx context.Context) querier {
	if tx := s.txOf(ctx); tx != nil {
		return tx
	}
	return s.db
}

// rebind rewrites ? placeholders for the dialect. The store's queries hold
// no ? inside literals.
func (s *Store) rebind(query string) string {
	if !s.d.NumberedParams || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// prepared returns the statement of query, prepared once for the pool and
// then once on each connection that runs it, bound to the transaction when
// on is one.
func (s *Store) prepared(ctx context.Context, on querier, query string) (*sql.Stmt, error) {
	v, ok := s.stmts.Load(query)
	if !ok {
		st, err := s.db.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		if v, ok = s.stmts.LoadOrStore(query, st); ok {
			// Another goroutine prepared the same query first; this copy
			// is unused, and a failure to close it changes nothing.
			_ = st.Close()
		}
	}
	st := v.(*sql.Stmt)
	if tx, ok := on.(*sql.Tx); ok {
		return tx.StmtContext(ctx, st), nil
	}
	return st, nil
}

// execOn runs a statement on the transaction or the pool.
func (s *Store) execOn(ctx context.Context, on querier, query string, args []any) (sql.Result, error) {
	query = s.rebind(query)
	if !s.d.PrepareStatements {
		return on.ExecContext(ctx, query, args...)
	}
	st, err := s.prepared(ctx, on, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryOn runs a query on the transaction or the pool.
func (s *Store) queryOn(ctx context.Context, on querier, query string, args []any) (*sql.Rows, error) {
	query = s.rebind(query)
	if !s.d.PrepareStatements {
		return on.QueryContext(ctx, query, args...)
	}
	st, err := s.prepared(ctx, on, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// query runs a read.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.queryOn(ctx, s.on(ctx), query, args)
}

// queryRow runs a read of one row; like sql.Row, its Scan reports
// sql.ErrNoRows when there is none.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) scanner {
	rows, err := s.query(ctx, query, args...)
	return row{rows, err}
}

// row is the one row of a query.
type row struct {
	rows *sql.Rows
	err  error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}

// exec runs a write and returns the number of rows it affected.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.write(ctx, func(on querier) error {
		res, err := s.execOn(ctx, on, query, args)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// execScan runs a write that returns one row (RETURNING) into dest.
func (s *Store) execScan(ctx context.Context, query string, args []any, dest ...any) error {
	return s.write(ctx, func(on querier) error {
		rows, err := s.queryOn(ctx, on, query, args)
		return row{rows, err}.Scan(dest...)
	})
}

// write runs fn on the context's transaction, or on the pool holding the
// writer slot when the dialect serializes writers.
func (s *Store) write(ctx context.Context, fn func(on querier) error) error {
	if tx := s.txOf(ctx); tx != nil {
		return fn(tx)
	}
	release, err := s.lockWriter(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn(s.db)
}

// fail turns a database error of an operation on an object into Bursar's
// error vocabulary: constraint violations become conflicts with a stable
// code; anything else is an internal error wrapped with what was tried.
func (s *Store) fail(err error, op, object, id string) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	switch s.d.Violated(err) {
	case Unique:
		return &errs.Error{Kind: errs.Conflict, Code: "already_exists",
			Message: fmt.Sprintf("%s %q repeats a value that must be unique (an id, number, email or key) of an existing one", object, id), Err: err}
	case ForeignKey:
		return &errs.Error{Kind: errs.Conflict, Code: "invalid_reference",
			Message: fmt.Sprintf("%s %q refers to an object that does not exist, or is referred to by one that does", object, id), Err: err}
	case Check:
		return &errs.Error{Kind: errs.Conflict, Code: "constraint_violated",
			Message: fmt.Sprintf("%s %q breaks a rule of the database", object, id), Err: err}
	}
	return fmt.Errorf("%s: %s %s %s: %w", s.d.Name, op, object, id, err)
}

// touched checks that a write by id touched a row, else reports not found.
func touched(n int64, object, id string) error {
	if n == 0 {
		return errs.NotFoundf(object, id)
	}
	return nil
}

// getOne maps sql.ErrNoRows to not found.
func (s *Store) getOne(err error, object, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFoundf(object, id)
	}
	if err != nil {
		return s.fail(err, "get", object, id)
	}
	return nil
}
