-- Encryption at rest (internal/vault), PostgreSQL dialect;
-- sqlite/migrations/0006_vault.sql is its twin and explains the tables.
CREATE TABLE vault_keys (
	org_id     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	keyset     TEXT NOT NULL,
	index_key  TEXT NOT NULL,
	version    BIGINT NOT NULL CHECK (version >= 1),
	updated_at TIMESTAMPTZ NOT NULL
);

DROP INDEX customers_email;
ALTER TABLE customers ADD COLUMN email_bidx TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN tax_id_bidx TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX customers_email_bidx ON customers (org_id, email_bidx);
CREATE INDEX customers_tax_id_bidx ON customers (org_id, tax_id_bidx);
