-- Bursar's first schema, SQLite dialect (postgres/migrations/0001_init.sql is
-- its twin; keep the two in step).
--
-- Why it looks the way it does:
-- * Every tenant-owned table has org_id, and its key is (org_id, id): every
--   query names the organization, and a reference between two objects
--   (invoice -> customer) is a composite foreign key, so it cannot cross
--   organizations even by mistake.
-- * STRICT tables: a value of the wrong type is refused, so no floating point
--   number can slip into a column. Money sums (totals, payments, credit) are
--   INTEGER minor units of the row's currency; quantities, prices and
--   percentages are exact decimal TEXT; there is no REAL column.
-- * A document's lines, allowances, charges and tax breakdown are one JSON
--   TEXT column (content), written and read with the row in one statement;
--   the totals beside it are columns, to be queried and summed.
-- * Dates are TEXT 'YYYY-MM-DD'; times TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ'
--   (UTC, fixed width, so that text order is time order); booleans 0 or 1.

CREATE TABLE organizations (
	id                  TEXT NOT NULL PRIMARY KEY,
	created_at          TEXT NOT NULL,
	name                TEXT NOT NULL,
	email               TEXT NOT NULL,
	address_line1       TEXT NOT NULL,
	address_line2       TEXT NOT NULL,
	address_city        TEXT NOT NULL,
	address_postal_code TEXT NOT NULL,
	address_region      TEXT NOT NULL,
	address_country     TEXT NOT NULL,
	vat_id              TEXT NOT NULL,
	tax_id              TEXT NOT NULL,
	default_currency    TEXT NOT NULL,
	time_zone           TEXT NOT NULL,
	locale              TEXT NOT NULL,
	invoice_series      TEXT NOT NULL,
	credit_note_series  TEXT NOT NULL,
	updated_at          TEXT NOT NULL
) STRICT;

CREATE TABLE customers (
	id                  TEXT NOT NULL,
	org_id              TEXT NOT NULL REFERENCES organizations (id),
	created_at          TEXT NOT NULL,
	-- Money the organization owes the customer, in minor units of currency.
	credit_balance      INTEGER NOT NULL CHECK (credit_balance >= 0),
	name                TEXT NOT NULL,
	email               TEXT NOT NULL,
	cc_emails           TEXT NOT NULL, -- JSON array
	address_line1       TEXT NOT NULL,
	address_line2       TEXT NOT NULL,
	address_city        TEXT NOT NULL,
	address_postal_code TEXT NOT NULL,
	address_region      TEXT NOT NULL,
	address_country     TEXT NOT NULL,
	tax_id              TEXT NOT NULL,
	currency            TEXT NOT NULL,
	payment_terms_days  INTEGER NOT NULL,
	locale              TEXT NOT NULL,
	notes               TEXT NOT NULL,
	updated_at          TEXT NOT NULL,
	PRIMARY KEY (org_id, id)
) STRICT;

CREATE INDEX customers_email ON customers (org_id, email);

CREATE TABLE tax_rates (
	id                    TEXT NOT NULL,
	org_id                TEXT NOT NULL REFERENCES organizations (id),
	created_at            TEXT NOT NULL,
	name                  TEXT NOT NULL,
	percentage            TEXT NOT NULL, -- exact decimal
	category              TEXT NOT NULL,
	exemption_reason      TEXT NOT NULL,
	exemption_reason_code TEXT NOT NULL,
	country               TEXT NOT NULL,
	active                INTEGER NOT NULL CHECK (active IN (0, 1)),
	updated_at            TEXT NOT NULL,
	PRIMARY KEY (org_id, id)
) STRICT;

CREATE TABLE products (
	id           TEXT NOT NULL,
	org_id       TEXT NOT NULL REFERENCES organizations (id),
	created_at   TEXT NOT NULL,
	name         TEXT NOT NULL,
	description  TEXT NOT NULL,
	unit         TEXT NOT NULL,
	unit_price   TEXT NOT NULL, -- exact decimal
	currency     TEXT NOT NULL,
	tax_rate_ids TEXT NOT NULL, -- JSON array
	active       INTEGER NOT NULL CHECK (active IN (0, 1)),
	updated_at   TEXT NOT NULL,
	PRIMARY KEY (org_id, id)
) STRICT;

CREATE TABLE invoices (
	id                  TEXT NOT NULL,
	org_id              TEXT NOT NULL REFERENCES organizations (id),
	created_at          TEXT NOT NULL,
	version             INTEGER NOT NULL,
	number              TEXT NOT NULL, -- '' while draft
	status              TEXT NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
	customer_id         TEXT NOT NULL,
	buyer               TEXT NOT NULL, -- JSON snapshot
	seller              TEXT NOT NULL, -- JSON snapshot
	issue_date          TEXT,
	due_date            TEXT,
	payment_terms_days  INTEGER,
	buyer_reference     TEXT NOT NULL,
	purchase_order      TEXT NOT NULL,
	notes               TEXT NOT NULL,
	footer              TEXT NOT NULL,
	currency            TEXT NOT NULL,
	prices_include_tax  INTEGER NOT NULL CHECK (prices_include_tax IN (0, 1)),
	content             TEXT NOT NULL, -- JSON: lines, allowances, charges, taxes
	total_lines_net     INTEGER NOT NULL,
	total_allowances    INTEGER NOT NULL,
	total_charges       INTEGER NOT NULL,
	total_tax_exclusive INTEGER NOT NULL,
	total_tax           INTEGER NOT NULL,
	total_tax_inclusive INTEGER NOT NULL,
	total_paid          INTEGER NOT NULL,
	total_rounding      INTEGER NOT NULL,
	total_due           INTEGER NOT NULL,
	amount_paid         INTEGER NOT NULL,
	amount_credited     INTEGER NOT NULL,
	credit_applied      INTEGER NOT NULL,
	content_hash        TEXT NOT NULL,
	finalized_at        TEXT,
	paid_at             TEXT,
	voided_at           TEXT,
	updated_at          TEXT NOT NULL,
	PRIMARY KEY (org_id, id),
	FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id)
) STRICT;

-- Numbers never repeat within an organization; drafts have none yet.
CREATE UNIQUE INDEX invoices_number ON invoices (org_id, number) WHERE number <> '';
CREATE INDEX invoices_customer ON invoices (org_id, customer_id, id);
CREATE INDEX invoices_status ON invoices (org_id, status, id);

CREATE TABLE credit_notes (
	id                   TEXT NOT NULL,
	org_id               TEXT NOT NULL REFERENCES organizations (id),
	number               TEXT NOT NULL,
	invoice_id           TEXT NOT NULL,
	customer_id          TEXT NOT NULL,
	buyer                TEXT NOT NULL,
	seller               TEXT NOT NULL,
	issue_date           TEXT NOT NULL,
	reason               TEXT NOT NULL,
	currency             TEXT NOT NULL,
	prices_include_tax   INTEGER NOT NULL CHECK (prices_include_tax IN (0, 1)),
	content              TEXT NOT NULL,
	total_lines_net      INTEGER NOT NULL,
	total_allowances     INTEGER NOT NULL,
	total_charges        INTEGER NOT NULL,
	total_tax_exclusive  INTEGER NOT NULL,
	total_tax            INTEGER NOT NULL,
	total_tax_inclusive  INTEGER NOT NULL,
	total_paid           INTEGER NOT NULL,
	total_rounding       INTEGER NOT NULL,
	total_due            INTEGER NOT NULL,
	applied_to_invoice   INTEGER NOT NULL,
	credited_to_customer INTEGER NOT NULL,
	content_hash         TEXT NOT NULL,
	created_at           TEXT NOT NULL,
	PRIMARY KEY (org_id, id),
	FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id)
) STRICT;

CREATE UNIQUE INDEX credit_notes_number ON credit_notes (org_id, number) WHERE number <> '';
CREATE INDEX credit_notes_invoice ON credit_notes (org_id, invoice_id, id);

CREATE TABLE payments (
	id                   TEXT NOT NULL,
	org_id               TEXT NOT NULL REFERENCES organizations (id),
	invoice_id           TEXT NOT NULL,
	customer_id          TEXT NOT NULL,
	amount               INTEGER NOT NULL,
	currency             TEXT NOT NULL,
	paid_on              TEXT NOT NULL,
	method               TEXT NOT NULL,
	reference            TEXT NOT NULL,
	applied_to_invoice   INTEGER NOT NULL,
	credited_to_customer INTEGER NOT NULL,
	created_at           TEXT NOT NULL,
	PRIMARY KEY (org_id, id),
	FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id)
) STRICT;

CREATE INDEX payments_invoice ON payments (org_id, invoice_id, id);

-- The counter of each gap-free number series of an organization.
CREATE TABLE number_series (
	org_id     TEXT NOT NULL REFERENCES organizations (id),
	series     TEXT NOT NULL,
	last_value INTEGER NOT NULL,
	PRIMARY KEY (org_id, series)
) STRICT;

CREATE TABLE users (
	id         TEXT NOT NULL PRIMARY KEY,
	email      TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;

CREATE TABLE memberships (
	org_id     TEXT NOT NULL REFERENCES organizations (id),
	user_id    TEXT NOT NULL REFERENCES users (id),
	role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'accountant', 'viewer')),
	created_at TEXT NOT NULL,
	PRIMARY KEY (org_id, user_id)
) STRICT;

CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE api_keys (
	id           TEXT NOT NULL,
	org_id       TEXT NOT NULL REFERENCES organizations (id),
	name         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	hash         BLOB NOT NULL UNIQUE, -- SHA-256 of the secret
	scopes       TEXT NOT NULL,        -- JSON array
	created_at   TEXT NOT NULL,
	expires_at   TEXT,
	last_used_at TEXT,
	revoked_at   TEXT,
	PRIMARY KEY (org_id, id)
) STRICT;

-- TouchAPIKey names a key by id alone.
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);

CREATE TABLE idempotency_keys (
	org_id       TEXT NOT NULL REFERENCES organizations (id),
	idem_key     TEXT NOT NULL,
	method       TEXT NOT NULL,
	path         TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	status       INTEGER NOT NULL, -- 0 while the first request runs
	content_type TEXT NOT NULL,
	body         BLOB,
	created_at   TEXT NOT NULL,
	PRIMARY KEY (org_id, idem_key)
) STRICT;
