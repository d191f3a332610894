package audit

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Problem is one finding of a verification. Index is the first entry it
// concerns, -1 when it concerns no entry in particular.
type Problem struct {
	Tree    string `json:"tree"`
	Index   int64  `json:"index"`
	Message string `json:"message"`
	// span marks a finding that bounds the bad entry to a range starting
	// at Index rather than naming it.
	span bool
}

// String says which tree, which index and what, in one line.
func (p Problem) String() string {
	if p.Index < 0 {
		return fmt.Sprintf("tree %s: %s", p.Tree, p.Message)
	}
	return fmt.Sprintf("tree %s: index %d: %s", p.Tree, p.Index, p.Message)
}

// Verifier recomputes one tree from its leaves. Feed it the leaves in the
// order they are stored with Add, then call Finish with the checkpoints.
type Verifier struct {
	tree     string
	n        int64
	hashes   []tlog.Hash // every stored hash, recomputed
	problems []Problem
	stopped  bool // the sequence of indexes broke; later leaves prove nothing
}

// NewVerifier starts verifying the tree.
func NewVerifier(tree string) *Verifier { return &Verifier{tree: tree} }

func (v *Verifier) fail(index int64, format string, args ...any) {
	v.problems = append(v.problems, Problem{Tree: v.tree, Index: index, Message: fmt.Sprintf(format, args...)})
}

// Add takes the next stored leaf and the index it is stored at.
func (v *Verifier) Add(index int64, leaf []byte) {
	if v.stopped {
		return
	}
	i := v.n
	if index != i {
		v.fail(i, "entry missing: the stored entries go from index %d to %d", i-1, index)
		v.stopped = true
		return
	}
	if e, err := Parse(leaf); err != nil {
		v.fail(i, "entry is not a well-formed leaf: %v", err)
	} else if e.Index != i || e.Tree != v.tree {
		v.fail(i, "entry says it is index %d of tree %s: entries were moved", e.Index, e.Tree)
	}
	hs, err := tlog.StoredHashes(i, leaf, tlog.HashReaderFunc(v.read))
	if err != nil { // cannot happen: every index read was written before
		v.fail(i, "hash: %v", err)
		v.stopped = true
		return
	}
	v.hashes = append(v.hashes, hs...)
	v.n++
}

func (v *Verifier) read(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for k, x := range idx {
		if x < 0 || x >= int64(len(v.hashes)) {
			return nil, fmt.Errorf("hash %d not yet computed", x)
		}
		out[k] = v.hashes[x]
	}
	return out, nil
}

// Size is the number of leaves verified in sequence.
func (v *Verifier) Size() int64 { return v.n }

// CompareStored compares the stored hashes the database keeps (used for
// proofs) with the recomputed ones and reports the first leaf whose stored
// hashes differ, which pinpoints an edited leaf even before a checkpoint
// covers it.
func (v *Verifier) CompareStored(read func(idx []int64) ([]tlog.Hash, error)) error {
	const chunk = 4096
	for lo := int64(0); lo < int64(len(v.hashes)); lo += chunk {
		hi := min(lo+chunk, int64(len(v.hashes)))
		idx := make([]int64, 0, hi-lo)
		for x := lo; x < hi; x++ {
			idx = append(idx, x)
		}
		got, err := read(idx)
		if err != nil {
			return err
		}
		for k, h := range got {
			if h != v.hashes[lo+int64(k)] {
				_, n := tlog.SplitStoredHashIndex(lo + int64(k))
				v.fail(n, "entry differs from the hash recorded when it was appended")
				return nil
			}
		}
	}
	return nil
}

// Finish checks every checkpoint: its signature by the verifier, its tree,
// and that its hash is the recomputed tree's at its size. It returns every
// problem found, the first bad index first.
func (v *Verifier) Finish(checkpoints []*Checkpoint, key note.Verifier, stored int64) []Problem {
	if stored != v.n && !v.stopped {
		v.fail(v.n, "the tree records %d entries, %d are stored: entries missing at the end", stored, v.n)
	}
	good := int64(0)
	for _, cp := range checkpoints {
		got, err := OpenCheckpoint(cp.Note, key)
		if err != nil {
			v.fail(-1, "checkpoint of size %d is not signed by the audit key: %v", cp.Size, err)
			continue
		}
		if got.Tree != v.tree || got.Size != cp.Size || got.Hash != cp.Hash {
			v.fail(-1, "checkpoint of size %d: its columns differ from its signed text", cp.Size)
			continue
		}
		if got.Size > v.n {
			v.fail(v.n, "a checkpoint of size %d was signed, only %d entries are stored: entries missing from index %d", got.Size, v.n, v.n)
			continue
		}
		h, err := tlog.TreeHash(got.Size, tlog.HashReaderFunc(v.read))
		if err != nil {
			v.fail(-1, "checkpoint of size %d: %v", got.Size, err)
			continue
		}
		if h != got.Hash {
			v.problems = append(v.problems, Problem{Tree: v.tree, Index: good, span: true, Message: fmt.Sprintf("the tree of the first %d entries differs from its signed checkpoint: an entry from index %d to %d was changed", got.Size, good, got.Size-1)})
			continue
		}
		good = got.Size
	}
	sortProblems(v.problems)
	return v.problems
}

// sortProblems puts first the problems that name an entry, lowest index
// first, then those that bound one to a range, then those of no index,
// keeping the order of equals: the first problem names the first bad index
// as precisely as the evidence allows.
func sortProblems(ps []Problem) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && less(ps[j], ps[j-1]); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func less(a, b Problem) bool {
	if rank(a) != rank(b) {
		return rank(a) < rank(b)
	}
	return a.Index < b.Index
}

func rank(p Problem) int {
	switch {
	case p.Index < 0:
		return 2
	case p.span:
		return 1
	}
	return 0
}

// Verify checks every tree of the store with the verifier key and returns
// the problems found; none means the log is intact.
func Verify(ctx context.Context, st Store, key note.Verifier) ([]Problem, error) {
	trees, err := st.AuditTrees(ctx)
	if err != nil {
		return nil, err
	}
	var all []Problem
	for _, tree := range slices.Sorted(maps.Keys(trees)) {
		size := trees[tree]
		v := NewVerifier(tree)
		if err := st.ScanAuditLeaves(ctx, tree, func(i int64, leaf []byte) error {
			v.Add(i, leaf)
			return nil
		}); err != nil {
			return nil, err
		}
		if err := v.CompareStored(func(idx []int64) ([]tlog.Hash, error) {
			return st.ReadAuditHashes(ctx, tree, idx)
		}); err != nil {
			return nil, err
		}
		cps, err := st.ListAuditCheckpoints(ctx, tree)
		if err != nil {
			return nil, err
		}
		all = append(all, v.Finish(cps, key, size)...)
	}
	return all, nil
}
