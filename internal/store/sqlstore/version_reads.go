package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"bursar/internal/errs"
)

// Bounds of one coalesced read of invoice versions.
const (
	maxVersionBatch    = 256
	versionReadTimeout = 30 * time.Second
)

// versionReads coalesces the reads of invoice versions that arrive while
// one is running into the next single query, on databases that take
// arrays as parameters (Dialect.CoalesceReads). Every GET of an invoice
// reads its version (the API answers from the answer it kept while the
// version is unchanged), and on PostgreSQL the round trip, not the
// lookup, is the cost: one query for several GETs costs hardly more than
// one for one.
//
// A read is never older than its call: it joins only a query that has
// not been sent yet, so the query's snapshot is taken after the call
// began and holds every change committed before it, on any replica.
type versionReads struct {
	mu      sync.Mutex
	pending []*versionRead
	running bool // a query is being sent or waited for
}

// versionRead is one caller's read and, once done is closed, its answer.
type versionRead struct {
	orgID, id string
	version   int
	found     bool
	err       error
	done      chan struct{}
}

// read returns the version of the invoice, read in a query shared with
// the reads that arrive meanwhile.
func (q *versionReads) read(ctx context.Context, s *Store, orgID, id string) (int, error) {
	r := &versionRead{orgID: orgID, id: id, done: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, r)
	lead := !q.running
	q.running = true
	q.mu.Unlock()
	if lead {
		// The first caller sends the first query itself; if more reads
		// came meanwhile, a goroutine sends theirs, so that this caller
		// waits for one query only.
		if q.next(s) {
			go func() {
				for q.next(s) {
				}
			}()
		}
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return 0, ctx.Err() // the query goes on for the others
	}
	switch {
	case r.err != nil:
		return 0, s.fail(r.err, "get", "invoice", id)
	case !r.found:
		return 0, errs.NotFoundf("invoice", id)
	}
	return r.version, nil
}

// next sends one query for the pending reads and reports whether more are
// pending; when none are, the run ends.
func (q *versionReads) next(s *Store) bool {
	q.mu.Lock()
	n := min(len(q.pending), maxVersionBatch)
	batch := q.pending[:n:n]
	q.pending = q.pending[n:]
	q.mu.Unlock()
	s.readVersions(batch)
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		q.pending, q.running = nil, false
		return false
	}
	return true
}

// readVersions answers every read of batch with one query. It belongs to
// none of the callers, so that one leaving does not cancel the others'.
func (s *Store) readVersions(batch []*versionRead) {
	ctx, cancel := context.WithTimeout(context.Background(), versionReadTimeout)
	defer cancel()
	orgs, ids := make([]string, len(batch)), make([]string, len(batch))
	for i, r := range batch {
		orgs[i], ids[i] = r.orgID, r.id
	}
	// A subquery per element, not a join: the planner cannot know how
	// many elements come, and each must be one index lookup.
	rows, err := s.query(ctx, `SELECT b.i, (SELECT v.version FROM invoices v WHERE v.org_id = b.org_id AND v.id = b.id)
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS b (org_id, id, i)`, orgs, ids)
	if err == nil {
		for rows.Next() {
			var i int
			var v sql.NullInt64
			if err = rows.Scan(&i, &v); err != nil {
				break
			}
			if i >= 1 && i <= len(batch) && v.Valid {
				batch[i-1].version, batch[i-1].found = int(v.Int64), true
			}
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = rows.Err()
		}
	}
	for _, r := range batch {
		r.err = err
		close(r.done)
	}
}
