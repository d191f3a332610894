-- Encryption at rest (internal/vault), SQLite dialect;
-- postgres/migrations/0006_vault.sql is its twin.
--
-- Each organization's data keys, wrapped by the key-encryption key, which
-- is never in the database: a tink AEAD keyset and a blind-index key, in
-- base64. version counts the rotations and rewraps; an update names the
-- version it replaces. No foreign key to organizations: installation-wide
-- key rings (for secrets that belong to no organization) live here too.
CREATE TABLE vault_keys (
	org_id     TEXT NOT NULL PRIMARY KEY,
	keyset     TEXT NOT NULL,
	index_key  TEXT NOT NULL,
	version    INTEGER NOT NULL CHECK (version >= 1),
	updated_at TEXT NOT NULL
) STRICT;

-- Sealed columns hold ciphertext, so an index on them finds nothing:
-- exact-match lookups go through keyed blind indexes (HMAC-SHA256 of the
-- normalized value with the organization's index key), one column each.
DROP INDEX customers_email;
ALTER TABLE customers ADD COLUMN email_bidx TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN tax_id_bidx TEXT NOT NULL DEFAULT '';
CREATE INDEX customers_email_bidx ON customers (org_id, email_bidx);
CREATE INDEX customers_tax_id_bidx ON customers (org_id, tax_id_bidx);
