package postgres_test

import (
	"testing"

	"bursar/internal/audit/audittest"
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
