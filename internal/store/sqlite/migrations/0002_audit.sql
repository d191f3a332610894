-- The tamper-evident audit log (internal/audit): one Merkle tree per
-- organization plus the "system" tree. The leaf is the record; the other
-- columns of audit_entries only index it for lists, and `bursar audit
-- verify` recomputes everything from the leaves. No foreign key to
-- organizations: the log must outlive what it records.

CREATE TABLE audit_trees (
	tree TEXT NOT NULL PRIMARY KEY,
	size INTEGER NOT NULL CHECK (size >= 0)  -- the index of the next entry
) STRICT;

CREATE TABLE audit_entries (
	tree        TEXT NOT NULL,
	idx         INTEGER NOT NULL CHECK (idx >= 0),
	leaf        TEXT NOT NULL,  -- the canonical JSON that the tree hashes
	created_at  TEXT NOT NULL,
	actor_id    TEXT NOT NULL,
	action      TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id   TEXT NOT NULL,
	PRIMARY KEY (tree, idx)
) STRICT;

CREATE INDEX audit_entries_object ON audit_entries (tree, object_type, object_id, idx);
CREATE INDEX audit_entries_created ON audit_entries (tree, created_at);

-- tlog's stored hashes: appends cost O(log n) and proofs read only these.
CREATE TABLE audit_hashes (
	tree TEXT NOT NULL,
	idx  INTEGER NOT NULL CHECK (idx >= 0),  -- tlog.StoredHashIndex
	hash BLOB NOT NULL,
	PRIMARY KEY (tree, idx)
) STRICT;

CREATE TABLE audit_checkpoints (
	tree       TEXT NOT NULL,
	size       INTEGER NOT NULL CHECK (size >= 0),
	hash       BLOB NOT NULL,
	note       TEXT NOT NULL,  -- the signed note
	created_at TEXT NOT NULL,
	PRIMARY KEY (tree, size)
) STRICT;

-- The log is append-only even for whoever holds SQL access through the
-- application; dropping these triggers takes more, and verify still finds
-- what was done after.
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE on audit_entries refused'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE on audit_entries refused'); END;
CREATE TRIGGER audit_hashes_no_update BEFORE UPDATE ON audit_hashes
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE on audit_hashes refused'); END;
CREATE TRIGGER audit_hashes_no_delete BEFORE DELETE ON audit_hashes
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE on audit_hashes refused'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE on audit_checkpoints refused'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE on audit_checkpoints refused'); END;
-- A tree's size only grows.
CREATE TRIGGER audit_trees_no_shrink BEFORE UPDATE ON audit_trees
WHEN NEW.size < OLD.size OR NEW.tree <> OLD.tree
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: a tree only grows'); END;
CREATE TRIGGER audit_trees_no_delete BEFORE DELETE ON audit_trees
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE on audit_trees refused'); END;
