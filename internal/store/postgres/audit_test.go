package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar/internal/audit"
	"bursar/internal/audit/audittest"
	"bursar/internal/store/pgtest"
	"bursar/internal/store/postgres"
	"bursar/internal/store/sqlstore"
)

// dropTriggers is what an attacker with SQL access runs first.
var dropTriggers = []string{
	"DROP TRIGGER audit_entries_append_only ON audit_entries",
	"DROP TRIGGER audit_hashes_append_only ON audit_hashes",
	"DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints",
	"DROP TRIGGER audit_trees_grows ON audit_trees",
	"DROP TRIGGER audit_trees_no_delete ON audit_trees",
}

func TestAuditAppendOnly(t *testing.T) { audittest.TestAppendOnly(t, open(t)) }

// TestAuditVerifyDetectsTampering runs every case on SQLite; here one, to
// prove that the PostgreSQL store keeps what verify needs.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	for _, tc := range audittest.Tampers(dropTriggers) {
		if tc.Name == "edited entry" || tc.Name == "rewritten and re-signed with another key" {
			t.Run(tc.Name, func(t *testing.T) { audittest.TestTamper(t, open(t), tc) })
		}
	}
}

// TestAuditConcurrentAppends appends from two stores on one database, as
// two replicas do: the tree's row lock gives every entry its own index, with
// no gap, and the tree verifies.
func TestAuditConcurrentAppends(t *testing.T) {
	url := pgtest.URL(t)
	keys := audittest.NewKeys(t)
	var logs []*audit.Log
	for range 2 {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		logs = append(logs, &audit.Log{Store: st, Keys: keys, Now: time.Now})
	}
	var wg sync.WaitGroup
	errc := make(chan error, 40)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				errc <- logs[w%2].Append(context.Background(), &audit.Entry{Tree: audittest.Tree, Action: "customer.created",
					ObjectType: "customer", ObjectID: fmt.Sprintf("cus_%d_%d", w, i)})
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := logs[0].Checkpoint(context.Background(), audittest.Tree); err != nil {
		t.Fatal(err)
	}
	trees, err := logs[1].Store.AuditTrees(context.Background())
	if err != nil || trees[audittest.Tree] != 40 {
		t.Fatalf("tree size = %v, %v; want 40", trees, err)
	}
	if problems, err := audit.Verify(context.Background(), logs[1].Store, keys.Verifier); err != nil || len(problems) > 0 {
		t.Errorf("Verify = %v, %v; want an intact tree", problems, err)
	}
}

func TestAuditTruncateRefused(t *testing.T) {
	st := open(t)
	for _, tab := range audittest.Tables {
		if _, err := st.DB().Exec("TRUNCATE " + tab); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("TRUNCATE %s: %v, want a refusal", tab, err)
		}
	}
}

func TestAuditList(t *testing.T) { audittest.TestList(t, open(t)) }

func TestAuditRollbackAndReplicas(t *testing.T) {
	url := pgtest.URL(t)
	var stores []*sqlstore.Store
	for range 2 {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	audittest.TestRollbackAndReplicas(t, stores[0], stores[1])
}
