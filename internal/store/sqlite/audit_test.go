package sqlite_test

import (
	"testing"

	"bursar/internal/audit/audittest"
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
