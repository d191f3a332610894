package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"bursar/internal/page"
)

// Checkpoint is a signed statement of a tree's hash at a size.
type Checkpoint struct {
	Tree      string
	Size      int64
	Hash      tlog.Hash
	Note      []byte // the signed note, CheckpointText plus signature lines
	CreatedAt time.Time
}

// Filter selects entries of one tree for a list, newest first.
type Filter struct {
	page.Params          // StartingAfter is an entry ID (EntryID)
	Tree          string // required
	ObjectType    string
	ObjectID      string
	ActorID       string
	Action        string
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	// Since, if set, selects entries at or after this time, oldest first,
	// for exports; Params are then ignored.
	Since *time.Time
}

// Stored is an entry as the store keeps it: the leaf is the truth, the
// entry is decoded from it.
type Stored struct {
	Entry *Entry
	Leaf  []byte
}

// Store is what the audit log needs from storage. Every method that
// writes must run in the transaction that InTx carries in the context.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// LockAuditTree creates the tree if it is new, locks it until the
	// transaction ends, and returns its size: the index of its next entry.
	LockAuditTree(ctx context.Context, tree string) (int64, error)
	// ReserveAuditIndex does what LockAuditTree does and also grows the
	// tree by one, in one statement, returning the index of the entry the
	// caller must now insert; if the transaction fails, the reservation
	// goes with it.
	ReserveAuditIndex(ctx context.Context, tree string) (int64, error)
	// ReadAuditHashes returns the tree's stored hashes at the indexes
	// (tlog.StoredHashIndex), in order.
	ReadAuditHashes(ctx context.Context, tree string, indexes []int64) ([]tlog.Hash, error)
	// InsertAuditEntry stores the entry's leaf at e.Index, reserved by
	// ReserveAuditIndex, and the hashes that tlog.StoredHashes gives for it
	// from tlog.StoredHashIndex(0, e.Index) on.
	InsertAuditEntry(ctx context.Context, e *Entry, leaf []byte, hashes []tlog.Hash) error
	// ScanAuditLeaves calls fn with each stored leaf of the tree in index
	// order, as stored, whatever it holds.
	ScanAuditLeaves(ctx context.Context, tree string, fn func(index int64, leaf []byte) error) error
	ListAuditEntries(ctx context.Context, f Filter) ([]*Stored, error)
	InsertAuditCheckpoint(ctx context.Context, c *Checkpoint) error
	// LatestAuditCheckpoint returns the tree's largest checkpoint, or a
	// NotFound error.
	LatestAuditCheckpoint(ctx context.Context, tree string) (*Checkpoint, error)
	// ListAuditCheckpoints returns the tree's checkpoints by size.
	ListAuditCheckpoints(ctx context.Context, tree string) ([]*Checkpoint, error)
	// AuditTrees returns every tree's name and size.
	AuditTrees(ctx context.Context) (map[string]int64, error)
}

// Log appends entries and writes checkpoints.
type Log struct {
	Store Store
	Keys  *Keys
	Now   func() time.Time
}

// hashReader reads the stored hashes of a tree through the context's
// transaction.
func (l *Log) hashReader(ctx context.Context, tree string) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return l.Store.ReadAuditHashes(ctx, tree, idx)
	})
}

// Append adds e to the end of its tree, in the transaction of ctx (or in
// one of its own). It assigns e.Index under the tree's lock, so that
// concurrent appenders (other requests, other replicas) take turns; the
// lock is held until the transaction commits, which is why Append should
// come last in a transaction. If it fails, the transaction must fail.
func (l *Log) Append(ctx context.Context, e *Entry) error {
	if e.Tree == "" {
		return fmt.Errorf("audit: append %s: no tree", e.Action)
	}
	if e.Time.IsZero() {
		e.Time = l.Now()
	}
	// Every change of the tree waits while another holds its lock: the
	// entry is encoded before, and only its index is written in after.
	tpl, err := e.leafTemplate()
	if err != nil {
		return err
	}
	return l.Store.InTx(ctx, func(ctx context.Context) error {
		// One statement locks the tree and takes the next index: every
		// statement here is paid by every change Bursar makes.
		n, err := l.Store.ReserveAuditIndex(ctx, e.Tree)
		if err != nil {
			return fmt.Errorf("audit: lock tree %s: %w", e.Tree, err)
		}
		e.Index = n
		leaf := tpl.at(n)
		hashes, err := tlog.StoredHashes(n, leaf, l.hashReader(ctx, e.Tree))
		if err != nil {
			return fmt.Errorf("audit: hash entry %d of %s: %w", n, e.Tree, err)
		}
		if err := l.Store.InsertAuditEntry(ctx, e, leaf, hashes); err != nil {
			return fmt.Errorf("audit: append %s: %w", e.Action, err)
		}
		return nil
	})
}

// CheckpointText is the body of a checkpoint note, in the C2SP
// tlog-checkpoint form: the origin, the size in decimal and the tree hash
// in standard base64, each on its own line.
func CheckpointText(tree string, size int64, h tlog.Hash) string {
	return fmt.Sprintf("%s/%s\n%d\n%s\n", SignerName, tree, size, base64.StdEncoding.EncodeToString(h[:]))
}

// ParseCheckpointText is the inverse of CheckpointText.
func ParseCheckpointText(text string) (tree string, size int64, h tlog.Hash, err error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return "", 0, h, fmt.Errorf("audit: checkpoint: want 3 lines")
	}
	tree, ok := strings.CutPrefix(lines[0], SignerName+"/")
	size, err1 := strconv.ParseInt(lines[1], 10, 64)
	raw, err2 := base64.StdEncoding.DecodeString(lines[2])
	if !ok || err1 != nil || size < 0 || err2 != nil || len(raw) != tlog.HashSize {
		return "", 0, h, fmt.Errorf("audit: malformed checkpoint")
	}
	copy(h[:], raw)
	return tree, size, h, nil
}

// Checkpoint signs the tree's current hash, unless the latest checkpoint
// already has its size, and returns the latest checkpoint.
func (l *Log) Checkpoint(ctx context.Context, tree string) (*Checkpoint, error) {
	var cp *Checkpoint
	err := l.Store.InTx(ctx, func(ctx context.Context) error {
		n, err := l.Store.LockAuditTree(ctx, tree)
		if err != nil {
			return err
		}
		last, err := l.Store.LatestAuditCheckpoint(ctx, tree)
		if err == nil && last.Size == n {
			cp = last
			return nil
		}
		h, err := tlog.TreeHash(n, l.hashReader(ctx, tree))
		if err != nil {
			return err
		}
		signed, err := note.Sign(&note.Note{Text: CheckpointText(tree, n, h)}, l.Keys.Signer)
		if err != nil {
			return err
		}
		cp = &Checkpoint{Tree: tree, Size: n, Hash: h, Note: signed, CreatedAt: l.Now().UTC()}
		return l.Store.InsertAuditCheckpoint(ctx, cp)
	})
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint %s: %w", tree, err)
	}
	return cp, nil
}

// CheckpointAll checkpoints every tree that grew since its latest
// checkpoint and returns how many it signed.
func (l *Log) CheckpointAll(ctx context.Context) (int, error) {
	trees, err := l.Store.AuditTrees(ctx)
	if err != nil {
		return 0, err
	}
	signed := 0
	for tree, size := range trees {
		if last, err := l.Store.LatestAuditCheckpoint(ctx, tree); err == nil && last.Size == size {
			continue
		}
		if _, err := l.Checkpoint(ctx, tree); err != nil {
			return signed, err
		}
		signed++
	}
	return signed, nil
}

// Prove returns the proof that the entry at index is in the tree of the
// checkpoint.
func (l *Log) Prove(ctx context.Context, cp *Checkpoint, index int64) (tlog.RecordProof, error) {
	return tlog.ProveRecord(cp.Size, index, l.hashReader(ctx, cp.Tree))
}

// OpenCheckpoint checks a signed checkpoint note against the verifier and
// returns what it states.
func OpenCheckpoint(signed []byte, v note.Verifier) (*Checkpoint, error) {
	// A note ends with exactly one newline; files and terminals add more.
	signed = append(bytes.Clone(bytes.TrimRight(signed, "\n")), '\n')
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint signature: %w", err)
	}
	tree, size, h, err := ParseCheckpointText(n.Text)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Tree: tree, Size: size, Hash: h, Note: bytes.Clone(signed)}, nil
}
