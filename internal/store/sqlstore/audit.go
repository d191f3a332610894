package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"bursar/internal/audit"
	"bursar/internal/errs"
)

var _ audit.Store = (*Store)(nil)

// LockAuditTree implements audit.Store. The tree's row is the lock: on
// PostgreSQL a row lock that serializes appenders of every replica; on
// SQLite the write transaction already excludes every other writer.
func (s *Store) LockAuditTree(ctx context.Context, tree string) (int64, error) {
	if s.txOf(ctx) == nil {
		return 0, errors.New("audit: LockAuditTree outside a transaction")
	}
	if _, err := s.exec(ctx, "INSERT INTO audit_trees (tree, size) VALUES (?, 0) ON CONFLICT (tree) DO NOTHING", tree); err != nil {
		return 0, s.fail(err, "create", "audit tree", tree)
	}
	var n int64
	if err := s.queryRow(ctx, "SELECT size FROM audit_trees WHERE tree = ?"+s.d.ForUpdate, tree).Scan(&n); err != nil {
		return 0, s.fail(err, "lock", "audit tree", tree)
	}
	return n, nil
}

// ReserveAuditIndex implements audit.Store: the upsert takes the tree's row
// lock (on PostgreSQL; SQLite's write transaction excludes every other
// writer already) and grows the tree in the same statement.
func (s *Store) ReserveAuditIndex(ctx context.Context, tree string) (int64, error) {
	if s.txOf(ctx) == nil {
		return 0, errors.New("audit: ReserveAuditIndex outside a transaction")
	}
	var next int64
	if err := s.queryRow(ctx, "INSERT INTO audit_trees (tree, size) VALUES (?, 1) ON CONFLICT (tree) DO UPDATE SET size = audit_trees.size + 1 RETURNING size", tree).Scan(&next); err != nil {
		return 0, s.fail(err, "lock", "audit tree", tree)
	}
	return next - 1, nil
}

// ReadAuditHashes implements audit.Store.
func (s *Store) ReadAuditHashes(ctx context.Context, tree string, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	got := make(map[int64]tlog.Hash, len(indexes))
	args := make([]any, 0, len(indexes)+1)
	args = append(args, tree)
	for _, x := range indexes {
		if h, ok := s.auditHashes.get(tree, x); ok {
			got[x] = h
		} else {
			args = append(args, x)
		}
	}
	if len(args) > 1 {
		if err := s.readAuditHashes(ctx, tree, args, got); err != nil {
			return nil, err
		}
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := got[x]
		if !ok {
			return nil, fmt.Errorf("audit: stored hash %d of tree %s is missing", x, tree)
		}
		out[i] = h
	}
	return out, nil
}

// readAuditHashes reads the hashes of the tree at the indexes args[1:]
// into got.
func (s *Store) readAuditHashes(ctx context.Context, tree string, args []any, got map[int64]tlog.Hash) error {
	// The indexes are few (O(log n)) except in verify, which reads them in
	// bounded chunks.
	rows, err := s.query(ctx, "SELECT idx, hash FROM audit_hashes WHERE tree = ? AND idx IN ("+
		strings.TrimSuffix(strings.Repeat("?, ", len(args)-1), ", ")+")", args...)
	if err != nil {
		return s.fail(err, "read", "audit hashes", tree)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return s.fail(err, "read", "audit hashes", tree)
		}
		if len(b) != tlog.HashSize {
			return fmt.Errorf("audit: stored hash %d of %s has %d bytes", idx, tree, len(b))
		}
		got[idx] = tlog.Hash(b)
	}
	if err := rows.Err(); err != nil {
		return s.fail(err, "read", "audit hashes", tree)
	}
	return nil
}

// InsertAuditEntry implements audit.Store.
func (s *Store) InsertAuditEntry(ctx context.Context, e *audit.Entry, leaf []byte, hashes []tlog.Hash) error {
	st := s.txStateOf(ctx)
	if st == nil {
		return errors.New("audit: InsertAuditEntry outside a transaction")
	}
	id := strconv.FormatInt(e.Index, 10)
	at := e.Time
	entrySQL := `INSERT INTO audit_entries (tree, idx, leaf, created_at, actor_id, action, object_type, object_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	args := []any{e.Tree, e.Index, string(leaf), stamp(&at), e.Actor.ID, e.Action, e.ObjectType, e.ObjectID}
	if len(hashes) == 0 {
		if _, err := s.exec(ctx, entrySQL, args...); err != nil {
			return s.fail(err, "insert", "audit entry", id)
		}
		return nil
	}
	// All of the entry's hashes (1 + the trailing ones of its index, so
	// about two) in one statement, and, where the database can, with the
	// entry in the same statement: every round trip here is paid by every
	// change Bursar makes, under the tree's lock.
	base := tlog.StoredHashIndex(0, e.Index)
	hashArgs := make([]any, 0, 3*len(hashes))
	for i := range hashes {
		hashArgs = append(hashArgs, e.Tree, base+int64(i), hashes[i][:])
	}
	hashSQL := "INSERT INTO audit_hashes (tree, idx, hash) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(hashes)), ", ")
	if s.d.WritableCTE {
		if _, err := s.exec(ctx, "WITH entry AS ("+entrySQL+") "+hashSQL, append(args, hashArgs...)...); err != nil {
			return s.fail(err, "insert", "audit entry", id)
		}
	} else {
		if _, err := s.exec(ctx, entrySQL, args...); err != nil {
			return s.fail(err, "insert", "audit entry", id)
		}
		if _, err := s.exec(ctx, hashSQL, hashArgs...); err != nil {
			return s.fail(err, "insert", "audit hash", id)
		}
	}
	// Committed hashes never change (the tables refuse UPDATE and DELETE),
	// so once the transaction commits they may be remembered; before, a
	// rollback would give their indexes to other entries.
	tree, written := e.Tree, slices.Clone(hashes)
	st.afterCommit = append(st.afterCommit, func() { s.auditHashes.put(tree, base, written) })
	return nil
}

// auditHashCacheSize bounds the audit hashes a store remembers. Appending
// to a tree of size n reads at most log2(n) of them, the tree's right
// edge, which the previous append wrote.
const auditHashCacheSize = 4096

// auditHashCache keeps audit hashes that this process committed, so that
// the next append to the tree does not read back what the last one wrote.
// It is correct across replicas because a committed hash is immutable: a
// hash another replica wrote is simply not in it, and is read.
type auditHashCache struct {
	mu     sync.Mutex
	max    int
	hashes map[auditHashKey]tlog.Hash
}

type auditHashKey struct {
	tree string
	idx  int64
}

func newAuditHashCache(max int) auditHashCache {
	return auditHashCache{max: max, hashes: make(map[auditHashKey]tlog.Hash)}
}

func (c *auditHashCache) get(tree string, idx int64) (tlog.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.hashes[auditHashKey{tree, idx}]
	return h, ok
}

// put remembers hashes[i] as the hash at index base+i of the tree. When
// full, the cache starts over: the next append reads its right edge once.
func (c *auditHashCache) put(tree string, base int64, hashes []tlog.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.hashes)+len(hashes) > c.max {
		clear(c.hashes)
	}
	for i, h := range hashes {
		c.hashes[auditHashKey{tree, base + int64(i)}] = h
	}
}

// ScanAuditLeaves implements audit.Store.
func (s *Store) ScanAuditLeaves(ctx context.Context, tree string, fn func(index int64, leaf []byte) error) error {
	rows, err := s.query(ctx, "SELECT idx, leaf FROM audit_entries WHERE tree = ? ORDER BY idx", tree)
	if err != nil {
		return s.fail(err, "scan", "audit tree", tree)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var leaf string
		if err := rows.Scan(&idx, &leaf); err != nil {
			return s.fail(err, "scan", "audit tree", tree)
		}
		if err := fn(idx, []byte(leaf)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail(err, "scan", "audit tree", tree)
	}
	return nil
}

// ListAuditEntries implements audit.Store: newest first by index, or, for
// an export (Since), oldest first.
func (s *Store) ListAuditEntries(ctx context.Context, f audit.Filter) ([]*audit.Stored, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	add("tree = ?", f.Tree)
	if f.ObjectType != "" {
		add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.CreatedAfter != nil {
		t := *f.CreatedAfter
		add("created_at > ?", stamp(&t))
	}
	if f.CreatedBefore != nil {
		t := *f.CreatedBefore
		add("created_at < ?", stamp(&t))
	}
	order, limit := " ORDER BY idx DESC LIMIT ?", f.Size()
	if f.Since != nil {
		t := *f.Since
		add("created_at >= ?", stamp(&t))
		order, limit = " ORDER BY idx", -1
	} else if f.StartingAfter != "" {
		idx, err := audit.ParseEntryID(f.StartingAfter)
		if err != nil {
			return nil, &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "the request has invalid fields",
				Fields: []errs.FieldError{{Field: "starting_after", Reason: "must be the id of an audit event, such as aud_12"}}}
		}
		add("idx < ?", idx)
	}
	q := "SELECT leaf FROM audit_entries WHERE " + strings.Join(where, " AND ") + order
	if limit > 0 {
		args = append(args, limit)
	} else {
		q = strings.TrimSuffix(q, " LIMIT ?")
	}
	return list(ctx, s, "audit entries", q, args, func(sc scanner) (*audit.Stored, error) {
		var leaf string
		if err := sc.Scan(&leaf); err != nil {
			return nil, err
		}
		e, err := audit.Parse([]byte(leaf))
		if err != nil {
			return nil, err
		}
		return &audit.Stored{Entry: e, Leaf: []byte(leaf)}, nil
	})
}

// InsertAuditCheckpoint implements audit.Store.
func (s *Store) InsertAuditCheckpoint(ctx context.Context, c *audit.Checkpoint) error {
	at := c.CreatedAt
	if _, err := s.exec(ctx, "INSERT INTO audit_checkpoints (tree, size, hash, note, created_at) VALUES (?, ?, ?, ?, ?)",
		c.Tree, c.Size, c.Hash[:], string(c.Note), stamp(&at)); err != nil {
		return s.fail(err, "insert", "audit checkpoint", c.Tree)
	}
	return nil
}

const checkpointCols = "tree, size, hash, note, created_at"

func scanCheckpoint(sc scanner) (*audit.Checkpoint, error) {
	var c audit.Checkpoint
	var h []byte
	var n string
	if err := sc.Scan(&c.Tree, &c.Size, &h, &n, timeDest{&c.CreatedAt}); err != nil {
		return nil, err
	}
	if len(h) != tlog.HashSize {
		return nil, fmt.Errorf("audit: checkpoint %d of %s: hash has %d bytes", c.Size, c.Tree, len(h))
	}
	c.Hash, c.Note = tlog.Hash(h), []byte(n)
	return &c, nil
}

// LatestAuditCheckpoint implements audit.Store.
func (s *Store) LatestAuditCheckpoint(ctx context.Context, tree string) (*audit.Checkpoint, error) {
	c, err := scanCheckpoint(s.queryRow(ctx, "SELECT "+checkpointCols+" FROM audit_checkpoints WHERE tree = ? ORDER BY size DESC LIMIT 1", tree))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "not_found", "no audit checkpoint has been written yet")
	}
	if err != nil {
		return nil, s.fail(err, "get", "audit checkpoint", tree)
	}
	return c, nil
}

// ListAuditCheckpoints implements audit.Store.
func (s *Store) ListAuditCheckpoints(ctx context.Context, tree string) ([]*audit.Checkpoint, error) {
	return list(ctx, s, "audit checkpoints", "SELECT "+checkpointCols+" FROM audit_checkpoints WHERE tree = ? ORDER BY size", []any{tree}, scanCheckpoint)
}

// AuditTrees implements audit.Store.
func (s *Store) AuditTrees(ctx context.Context) (map[string]int64, error) {
	rows, err := s.query(ctx, "SELECT tree, size FROM audit_trees")
	if err != nil {
		return nil, s.fail(err, "list", "audit trees", "")
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return nil, s.fail(err, "list", "audit trees", "")
		}
		out[t] = n
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list", "audit trees", "")
	}
	return out, nil
}
