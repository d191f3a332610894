-- The tamper-evident audit log (internal/audit): one Merkle tree per
-- organization plus the "system" tree. The leaf is the record; the other
-- columns of audit_entries only index it for lists, and `bursar audit
-- verify` recomputes everything from the leaves. No foreign key to
-- organizations: the log must outlive what it records.

CREATE TABLE audit_trees (
	tree TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	size BIGINT NOT NULL CHECK (size >= 0)  -- the index of the next entry
);

CREATE TABLE audit_entries (
	tree        TEXT COLLATE "C" NOT NULL,
	idx         BIGINT NOT NULL CHECK (idx >= 0),
	leaf        TEXT NOT NULL,  -- the canonical JSON that the tree hashes
	created_at  TIMESTAMPTZ NOT NULL,
	actor_id    TEXT COLLATE "C" NOT NULL,
	action      TEXT COLLATE "C" NOT NULL,
	object_type TEXT COLLATE "C" NOT NULL,
	object_id   TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tree, idx)
);

CREATE INDEX audit_entries_object ON audit_entries (tree, object_type, object_id, idx);
CREATE INDEX audit_entries_created ON audit_entries (tree, created_at);

-- tlog's stored hashes: appends cost O(log n) and proofs read only these.
CREATE TABLE audit_hashes (
	tree TEXT COLLATE "C" NOT NULL,
	idx  BIGINT NOT NULL CHECK (idx >= 0),  -- tlog.StoredHashIndex
	hash BYTEA NOT NULL,
	PRIMARY KEY (tree, idx)
);

CREATE TABLE audit_checkpoints (
	tree       TEXT COLLATE "C" NOT NULL,
	size       BIGINT NOT NULL CHECK (size >= 0),
	hash       BYTEA NOT NULL,
	note       TEXT NOT NULL,  -- the signed note
	created_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (tree, size)
);

-- The log is append-only even for whoever holds SQL access through the
-- application; dropping these triggers takes more, and verify still finds
-- what was done after.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege';
END
$$;

-- A tree's size only grows.
CREATE FUNCTION audit_tree_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.size < OLD.size OR NEW.tree <> OLD.tree THEN
		RAISE EXCEPTION 'audit log is append-only: a tree only grows'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_hashes_append_only BEFORE UPDATE OR DELETE ON audit_hashes
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_hashes_no_truncate BEFORE TRUNCATE ON audit_hashes
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_trees_grows BEFORE UPDATE ON audit_trees
	FOR EACH ROW EXECUTE FUNCTION audit_tree_grows();
CREATE TRIGGER audit_trees_no_delete BEFORE DELETE ON audit_trees
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_trees_no_truncate BEFORE TRUNCATE ON audit_trees
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
