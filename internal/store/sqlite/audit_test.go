package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"bursar/internal/audit/audittest"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
)

// dropTriggers is what an attacker with SQL access runs first.
var dropTriggers = []string{
	"DROP TRIGGER audit_entries_no_update", "DROP TRIGGER audit_entries_no_delete",
	"DROP TRIGGER audit_hashes_no_update", "DROP TRIGGER audit_hashes_no_delete",
	"DROP TRIGGER audit_checkpoints_no_update", "DROP TRIGGER audit_checkpoints_no_delete",
	"DROP TRIGGER audit_trees_no_shrink", "DROP TRIGGER audit_trees_no_delete",
}

func TestAuditAppendOnly(t *testing.T) { audittest.TestAppendOnly(t, open(t)) }

func TestAuditVerifyDetectsTampering(t *testing.T) {
	for _, tc := range audittest.Tampers(dropTriggers) {
		t.Run(tc.Name, func(t *testing.T) { audittest.TestTamper(t, open(t), tc) })
	}
}

func TestAuditList(t *testing.T) { audittest.TestList(t, open(t)) }

func TestAuditRollbackAndReplicas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bursar.db")
	var stores []*sqlstore.Store
	for range 2 {
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	audittest.TestRollbackAndReplicas(t, stores[0], stores[1])
}
