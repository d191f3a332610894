// Package audittest is the suite that proves, on each store, that the
// audit log is append-only and that verification detects tampering done
// by someone who can drop the triggers (an attacker with SQL access).
package audittest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"bursar/internal/audit"
	"bursar/internal/page"
	"bursar/internal/store/sqlstore"
)

// Tables are the audit tables, which refuse UPDATE and DELETE.
var Tables = []string{"audit_entries", "audit_hashes", "audit_checkpoints", "audit_trees"}

// Tree is the tree the suite writes.
const Tree = "org_audittest"

// NewKeys returns fresh audit keys, as a first start makes them.
func NewKeys(t testing.TB) *audit.Keys {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, audit.SignerName)
	if err != nil {
		t.Fatal(err)
	}
	k, err := audit.NewKeys(audit.HMACKey(strings.Repeat("k", 32)), skey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Fill appends n entries to Tree and checkpoints after every 4, and at
// the end.
func Fill(t testing.TB, l *audit.Log, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		e := &audit.Entry{Tree: Tree, Actor: audit.Actor{Type: audit.ActorAPIKey, ID: "key_test"},
			Action: "customer.updated", ObjectType: "customer", ObjectID: fmt.Sprintf("cus_%d", i),
			Fields: []audit.Field{{Name: "currency", Value: []byte(`"EUR"`)}}, RequestID: fmt.Sprintf("req_%d", i)}
		if err := l.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		if (i+1)%4 == 0 || i == n-1 {
			if _, err := l.Checkpoint(ctx, Tree); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Exec runs raw SQL statements, as an attacker would.
func Exec(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestAppendOnly proves that UPDATE and DELETE on every audit table fail.
func TestAppendOnly(t *testing.T, st *sqlstore.Store) {
	keys := NewKeys(t)
	l := &audit.Log{Store: st, Keys: keys, Now: time.Now}
	Fill(t, l, 4)
	for _, tab := range Tables {
		for _, q := range []string{
			"UPDATE " + tab + " SET tree = 'x'",
			"DELETE FROM " + tab,
		} {
			_, err := st.DB().Exec(q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want a refusal saying the log is append-only", q, err)
			}
		}
	}
	problems, err := audit.Verify(context.Background(), st, keys.Verifier)
	if err != nil || len(problems) != 0 {
		t.Fatalf("Verify after refused tampering = %v, %v; want no problem", problems, err)
	}
}

// Tamper is one way of changing the history with the triggers dropped.
type Tamper struct {
	Name string
	// Do tampers with the filled log.
	Do func(t *testing.T, st *sqlstore.Store)
	// Index is the first bad index verify must name, -1 for none in
	// particular; Want is a part of the first problem's message.
	Index int64
	Want  string
}

// Tampers returns the tampering cases on a log of 8 entries with
// checkpoints at 4 and 8. dropTriggers are the statements that drop the
// dialect's triggers.
func Tampers(dropTriggers []string) []Tamper {
	return []Tamper{
		{"edited entry", func(t *testing.T, st *sqlstore.Store) {
			Exec(t, st.DB(), dropTriggers...)
			Exec(t, st.DB(), `UPDATE audit_entries SET leaf = REPLACE(leaf, '"EUR"', '"USD"') WHERE idx = 5`)
		}, 5, "differs from the hash recorded"},
		{"deleted entry", func(t *testing.T, st *sqlstore.Store) {
			Exec(t, st.DB(), dropTriggers...)
			Exec(t, st.DB(), `DELETE FROM audit_entries WHERE idx = 2`)
		}, 2, "entry missing"},
		{"swapped entries", func(t *testing.T, st *sqlstore.Store) {
			Exec(t, st.DB(), dropTriggers...)
			Exec(t, st.DB(),
				`UPDATE audit_entries SET idx = 100 WHERE idx = 3`,
				`UPDATE audit_entries SET idx = 3 WHERE idx = 6`,
				`UPDATE audit_entries SET idx = 6 WHERE idx = 100`)
		}, 3, "entries were moved"},
		{"truncated tail", func(t *testing.T, st *sqlstore.Store) {
			Exec(t, st.DB(), dropTriggers...)
			Exec(t, st.DB(), `DELETE FROM audit_entries WHERE idx >= 6`, `UPDATE audit_trees SET size = 6`)
		}, 6, "entries missing"},
		{"rewritten and re-signed with another key", func(t *testing.T, st *sqlstore.Store) {
			ctx := context.Background()
			// The attacker reads the history, changes one entry, and
			// writes a new tree with checkpoints signed by a key of theirs.
			var leaves [][]byte
			if err := st.ScanAuditLeaves(ctx, Tree, func(_ int64, leaf []byte) error {
				leaves = append(leaves, leaf)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			Exec(t, st.DB(), dropTriggers...)
			for _, tab := range Tables {
				Exec(t, st.DB(), "DELETE FROM "+tab)
			}
			forged := &audit.Log{Store: st, Keys: NewKeys(t), Now: time.Now}
			for i, leaf := range leaves {
				e, err := audit.Parse(leaf)
				if err != nil {
					t.Fatal(err)
				}
				if i == 1 {
					e.Action = "customer.viewed"
				}
				if err := forged.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := forged.Checkpoint(ctx, Tree); err != nil {
				t.Fatal(err)
			}
		}, -1, "not signed by the audit key"},
	}
}

// TestTamper runs one tampering case on a fresh store and checks what
// verify reports.
func TestTamper(t *testing.T, st *sqlstore.Store, tc Tamper) {
	keys := NewKeys(t)
	l := &audit.Log{Store: st, Keys: keys, Now: time.Now}
	Fill(t, l, 8)
	ctx := context.Background()
	if problems, err := audit.Verify(ctx, st, keys.Verifier); err != nil || len(problems) != 0 {
		t.Fatalf("Verify before tampering = %v, %v; want no problem", problems, err)
	}
	tc.Do(t, st)
	problems, err := audit.Verify(ctx, st, keys.Verifier)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(problems) == 0 {
		t.Fatalf("Verify found nothing after %s", tc.Name)
	}
	first := problems[0]
	if first.Index != tc.Index || !strings.Contains(first.Message, tc.Want) {
		t.Errorf("first problem = %v, want index %d and %q (all: %v)", first, tc.Index, tc.Want, problems)
	}
}

// ErrAuditDown is what a failing audit store returns.
var ErrAuditDown = errors.New("audit store down")

// TestList proves the store's filters and pages over the entries.
func TestList(t *testing.T, st *sqlstore.Store) {
	ctx := context.Background()
	l := &audit.Log{Store: st, Keys: NewKeys(t), Now: time.Now}
	start := time.Now().Add(-time.Second)
	Fill(t, l, 6)
	ids := func(f audit.Filter) []int64 {
		t.Helper()
		f.Tree = Tree
		got, err := st.ListAuditEntries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, s := range got {
			out = append(out, s.Entry.Index)
		}
		return out
	}
	after, before := start, time.Now().Add(time.Second)
	for _, c := range []struct {
		name string
		f    audit.Filter
		want string
	}{
		{"newest first, one page", audit.Filter{Params: page.Params{Limit: 4}}, "[5 4 3 2]"},
		{"next page", audit.Filter{Params: page.Params{Limit: 4, StartingAfter: audit.EntryID(2)}}, "[1 0]"},
		{"by object", audit.Filter{ObjectType: "customer", ObjectID: "cus_3"}, "[3]"},
		{"by actor and action", audit.Filter{ActorID: "key_test", Action: "customer.updated", Params: page.Params{Limit: 2}}, "[5 4]"},
		{"by time", audit.Filter{CreatedAfter: &after, CreatedBefore: &before, Params: page.Params{Limit: 1}}, "[5]"},
		{"nothing after", audit.Filter{CreatedAfter: &before}, "[]"},
		{"export since, oldest first", audit.Filter{Since: &start}, "[0 1 2 3 4 5]"},
	} {
		if got := fmt.Sprint(ids(c.f)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestRollbackAndReplicas proves that what a store remembers of the hashes
// it wrote never outlives a rollback or hides another replica's appends:
// an append is rolled back and its index given to another entry, two
// stores on one database (a and b, as two replicas) append in turns, and
// the tree verifies from either.
func TestRollbackAndReplicas(t *testing.T, a, b *sqlstore.Store) {
	ctx := context.Background()
	keys := NewKeys(t)
	la := &audit.Log{Store: a, Keys: keys, Now: time.Now}
	lb := &audit.Log{Store: b, Keys: keys, Now: time.Now}
	entry := func(id string) *audit.Entry {
		return &audit.Entry{Tree: Tree, Actor: audit.Actor{Type: audit.ActorAPIKey, ID: "key_test"},
			Action: "customer.created", ObjectType: "customer", ObjectID: id}
	}
	// Sizes 1 to 3 need the hashes of earlier entries, which a wrote.
	Fill(t, la, 3)
	rollback := errors.New("roll back")
	if err := a.InTx(ctx, func(ctx context.Context) error {
		if err := la.Append(ctx, entry("cus_rolled_back")); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatalf("InTx = %v, want the rollback", err)
	}
	// b takes the index a gave back first, so that a would find its own
	// rolled-back hashes if it had kept them.
	for i := range 12 {
		l := la
		if i%3 == 0 {
			l = lb
		}
		if err := l.Append(ctx, entry(fmt.Sprintf("cus_%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := la.Checkpoint(ctx, Tree); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*sqlstore.Store{"a": a, "b": b} {
		if problems, err := audit.Verify(ctx, st, keys.Verifier); err != nil || len(problems) > 0 {
			t.Errorf("Verify from %s = %v, %v; want an intact tree", name, problems, err)
		}
	}
}
