-- Data protection (GDPR erasure and retention), SQLite dialect;
-- postgres/migrations/0004_retention.sql is its twin.
--
-- How long an organization keeps each class of document after it was
-- issued (invoices, credit notes) or received (payments). No row means the
-- default, 10 years. The audit log is no class: it is append-only and holds
-- no personal value in clear, so it is kept whole.
CREATE TABLE retention_policies (
	org_id     TEXT NOT NULL REFERENCES organizations (id),
	class      TEXT NOT NULL CHECK (class IN ('invoices', 'credit_notes', 'payments')),
	years      INTEGER NOT NULL CHECK (years BETWEEN 1 AND 100),
	updated_at TEXT NOT NULL,
	PRIMARY KEY (org_id, class)
) STRICT;

-- When the customer's personal data was erased; NULL while it is held.
-- An erased customer keeps its row (documents refer to it) but can no
-- longer be invoiced.
ALTER TABLE customers ADD COLUMN erased_at TEXT;
