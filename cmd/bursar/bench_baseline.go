package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"bursar/internal/store/pgtest"
	"bursar/internal/store/postgres"
	"bursar/internal/store/sqlstore"
)

// openBenchPostgres opens the PostgreSQL to benchmark: url, or else a
// throw-away cluster started from the system's binaries with PostgreSQL's
// own durability settings (unlike the tests' clusters), so that a commit
// measured is one that waited for the disk, as SQLite's commits do.
func openBenchPostgres(ctx context.Context, url string) (*sqlstore.Store, func(), error) {
	stop := func() {}
	if url == "" {
		u, s, err := pgtest.StartDurable()
		if err != nil {
			return nil, nil, err
		}
		url, stop = u, s
	}
	st, err := postgres.Open(ctx, url)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return st, stop, nil
}

// baseline holds the content of one benchmark invoice as the store wrote
// it, read once so that the baseline writes the very same rows.
type baseline struct {
	db                     *sql.DB
	postgres               bool
	buyer, seller, content string
	leaf                   string // an audit leaf the store wrote
	// writer serializes the baseline's SQLite transactions in Go, as the
	// store does: left to SQLite's busy handler, which sleeps and retries,
	// eight writers would make the baseline slower than it need be.
	writer sync.Mutex
}

// durability says how the store's commits reach the disk, as the
// database itself reports it: a benchmark of commits that do not wait for
// the disk measures something else than what a 2xx promises.
func durability(ctx context.Context, db *sql.DB, postgres bool) (string, error) {
	if !postgres {
		var sync int
		var journal string
		if err := db.QueryRowContext(ctx, "SELECT synchronous, journal_mode FROM pragma_synchronous, pragma_journal_mode").Scan(&sync, &journal); err != nil {
			return "", err
		}
		names := map[int]string{0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
		return "synchronous=" + names[sync] + ", journal_mode=" + journal, nil
	}
	var fsync, commit string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit')").Scan(&fsync, &commit); err != nil {
		return "", err
	}
	return "fsync=" + fsync + ", synchronous_commit=" + commit, nil
}

// rebind turns ? placeholders into $n for PostgreSQL.
func (bl *baseline) rebind(q string) string {
	if !bl.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// baselineCreateFinalize writes what creating a 5-line draft and finalizing
// it writes (the invoice row with its lines; the series counter and the
// finalized row; with each, its audit entry, two stored hashes and the
// tree's new size), in two plain SQL transactions and nothing else: no
// HTTP, no JSON decoding, no validation, no calculation, no hashing.
func (bl *baseline) createFinalize(ctx context.Context, orgID, customerID, id string) error {
	row := bl
	now := time.Now().UTC().Format(time.RFC3339Nano)
	err := bl.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, bl.rebind(`INSERT INTO invoices (id, org_id, created_at, version, number, status, customer_id,
			buyer, seller, issue_date, due_date, payment_terms_days, buyer_reference, purchase_order, notes, footer, currency,
			prices_include_tax, content, total_lines_net, total_allowances, total_charges, total_tax_exclusive, total_tax,
			total_tax_inclusive, total_paid, total_rounding, total_due, amount_paid, amount_credited, credit_applied,
			content_hash, finalized_at, paid_at, voided_at, updated_at)
			VALUES (?, ?, ?, 1, '', 'draft', ?, ?, ?, NULL, NULL, NULL, '', '', '', '', 'EUR', ?, ?,
			18510, 0, 0, 18510, 3517, 22027, 0, 0, 22027, 0, 0, 0, '', NULL, NULL, NULL, ?)`),
			id, orgID, now, customerID, row.buyer, row.seller, false, row.content, now)
		if err != nil {
			return err
		}
		return bl.audit(ctx, tx, now, id)
	})
	if err != nil {
		return err
	}
	return bl.inTx(ctx, func(tx *sql.Tx) error {
		var seq int64
		if err := tx.QueryRowContext(ctx, bl.rebind(`INSERT INTO number_series (org_id, series, last_value) VALUES (?, 'baseline', 1)
			ON CONFLICT (org_id, series) DO UPDATE SET last_value = number_series.last_value + 1 RETURNING last_value`), orgID).Scan(&seq); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, bl.rebind(`UPDATE invoices SET number = ?, status = 'open', issue_date = ?, due_date = ?,
			buyer = ?, seller = ?, content = ?, content_hash = ?, finalized_at = ?, version = version + 1, updated_at = ?
			WHERE org_id = ? AND id = ? AND version = 1`),
			fmt.Sprintf("BASE-%05d", seq), "2026-11-22", "2026-12-22", row.buyer, row.seller, row.content,
			"0000000000000000000000000000000000000000000000000000000000000000", now, now, orgID, id)
		if err != nil {
			return err
		}
		return bl.audit(ctx, tx, now, id)
	})
}

// audit writes the rows an audit entry adds: the tree grows by one, the
// entry's leaf (one the store wrote, so of a real length), and two stored
// hashes (an entry adds 1 + the trailing ones of its index: two on
// average).
func (bl *baseline) audit(ctx context.Context, tx *sql.Tx, now, objectID string) error {
	var size int64
	if err := tx.QueryRowContext(ctx, bl.rebind(`INSERT INTO audit_trees (tree, size) VALUES ('baseline', 1)
		ON CONFLICT (tree) DO UPDATE SET size = audit_trees.size + 1 RETURNING size`)).Scan(&size); err != nil {
		return err
	}
	idx := size - 1
	if _, err := tx.ExecContext(ctx, bl.rebind(`INSERT INTO audit_entries (tree, idx, leaf, created_at, actor_id, action, object_type, object_id)
		VALUES ('baseline', ?, ?, ?, 'key_baseline', 'invoice.finalize', 'invoice', ?)`), idx, bl.leaf, now, objectID); err != nil {
		return err
	}
	hash := make([]byte, 32)
	_, err := tx.ExecContext(ctx, bl.rebind(`INSERT INTO audit_hashes (tree, idx, hash) VALUES ('baseline', ?, ?), ('baseline', ?, ?)`),
		2*idx, hash, 2*idx+1, hash)
	return err
}

// captureBaselineRow reads the stored content of an invoice made through the
// API, for the baseline to write again.
func captureBaseline(ctx context.Context, st *sqlstore.Store, postgres bool, orgID, id string) (*baseline, error) {
	bl := &baseline{db: st.DB(), postgres: postgres}
	err := bl.db.QueryRowContext(ctx, bl.rebind(`SELECT buyer, seller, content FROM invoices WHERE org_id = ? AND id = ?`), orgID, id).
		Scan(&bl.buyer, &bl.seller, &bl.content)
	if err != nil {
		return nil, err
	}
	err = bl.db.QueryRowContext(ctx, bl.rebind(`SELECT leaf FROM audit_entries WHERE object_id = ? ORDER BY idx DESC LIMIT 1`), id).Scan(&bl.leaf)
	return bl, err
}

func (bl *baseline) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if !bl.postgres {
		bl.writer.Lock()
		defer bl.writer.Unlock()
	}
	tx, err := bl.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
