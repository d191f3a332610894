-- Bursar's first schema, PostgreSQL dialect (sqlite/migrations/0001_init.sql
-- is its twin; keep the two in step).
--
-- Why it looks the way it does:
-- * Every tenant-owned table has org_id, and its key is (org_id, id): every
--   query names the organization, and a reference between two objects
--   (invoice -> customer) is a composite foreign key, so it cannot cross
--   organizations even by mistake.
-- * Money sums (totals, payments, credit) are BIGINT minor units of the
--   row's currency; quantities, prices and percentages are exact decimal
--   TEXT; there is no floating point (nor NUMERIC) column.
-- * A document's lines, allowances, charges and tax breakdown are one JSONB
--   column (content), written and read with the row in one statement; the
--   totals beside it are columns, to be queried and summed.
-- * Identifiers are TEXT COLLATE "C": lists page by id, and byte order is
--   creation order whatever the database's locale.

CREATE TABLE organizations (
	id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	created_at          TIMESTAMPTZ NOT NULL,
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
	updated_at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE customers (
	id         TEXT COLLATE "C" NOT NULL,
	org_id     TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	created_at TIMESTAMPTZ NOT NULL,
	-- Money the organization owes the customer, in minor units of currency.
	credit_balance      BIGINT NOT NULL CHECK (credit_balance >= 0),
	name                TEXT NOT NULL,
	email               TEXT NOT NULL,
	cc_emails           JSONB NOT NULL,
	address_line1       TEXT NOT NULL,
	address_line2       TEXT NOT NULL,
	address_city        TEXT NOT NULL,
	address_postal_code TEXT NOT NULL,
	address_region      TEXT NOT NULL,
	address_country     TEXT NOT NULL,
	tax_id              TEXT NOT NULL,
	currency            TEXT NOT NULL,
	payment_terms_days  BIGINT NOT NULL,
	locale              TEXT NOT NULL,
	notes               TEXT NOT NULL,
	updated_at          TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (org_id, id)
);

CREATE INDEX customers_email ON customers (org_id, email);

CREATE TABLE tax_rates (
	id                    TEXT COLLATE "C" NOT NULL,
	org_id                TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	created_at            TIMESTAMPTZ NOT NULL,
	name                  TEXT NOT NULL,
	percentage            TEXT NOT NULL, -- exact decimal
	category              TEXT NOT NULL,
	exemption_reason      TEXT NOT NULL,
	exemption_reason_code TEXT NOT NULL,
	country               TEXT NOT NULL,
	active                BOOLEAN NOT NULL,
	updated_at            TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (org_id, id)
);

CREATE TABLE products (
	id           TEXT COLLATE "C" NOT NULL,
	org_id       TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	created_at   TIMESTAMPTZ NOT NULL,
	name         TEXT NOT NULL,
	description  TEXT NOT NULL,
	unit         TEXT NOT NULL,
	unit_price   TEXT NOT NULL, -- exact decimal
	currency     TEXT NOT NULL,
	tax_rate_ids JSONB NOT NULL,
	active       BOOLEAN NOT NULL,
	updated_at   TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (org_id, id)
);

CREATE TABLE invoices (
	id                  TEXT COLLATE "C" NOT NULL,
	org_id              TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	created_at          TIMESTAMPTZ NOT NULL,
	version             BIGINT NOT NULL,
	number              TEXT NOT NULL, -- '' while draft
	status              TEXT NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
	customer_id         TEXT COLLATE "C" NOT NULL,
	buyer               JSONB NOT NULL,
	seller              JSONB NOT NULL,
	issue_date          DATE,
	due_date            DATE,
	payment_terms_days  BIGINT,
	buyer_reference     TEXT NOT NULL,
	purchase_order      TEXT NOT NULL,
	notes               TEXT NOT NULL,
	footer              TEXT NOT NULL,
	currency            TEXT NOT NULL,
	prices_include_tax  BOOLEAN NOT NULL,
	content             JSONB NOT NULL, -- lines, allowances, charges, taxes
	total_lines_net     BIGINT NOT NULL,
	total_allowances    BIGINT NOT NULL,
	total_charges       BIGINT NOT NULL,
	total_tax_exclusive BIGINT NOT NULL,
	total_tax           BIGINT NOT NULL,
	total_tax_inclusive BIGINT NOT NULL,
	total_paid          BIGINT NOT NULL,
	total_rounding      BIGINT NOT NULL,
	total_due           BIGINT NOT NULL,
	amount_paid         BIGINT NOT NULL,
	amount_credited     BIGINT NOT NULL,
	credit_applied      BIGINT NOT NULL,
	content_hash        TEXT NOT NULL,
	finalized_at        TIMESTAMPTZ,
	paid_at             TIMESTAMPTZ,
	voided_at           TIMESTAMPTZ,
	updated_at          TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (org_id, id),
	FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id)
);

-- Numbers never repeat within an organization; drafts have none yet.
CREATE UNIQUE INDEX invoices_number ON invoices (org_id, number) WHERE number <> '';
CREATE INDEX invoices_customer ON invoices (org_id, customer_id, id);
CREATE INDEX invoices_status ON invoices (org_id, status, id);

CREATE TABLE credit_notes (
	id                   TEXT COLLATE "C" NOT NULL,
	org_id               TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	number               TEXT NOT NULL,
	invoice_id           TEXT COLLATE "C" NOT NULL,
	customer_id          TEXT COLLATE "C" NOT NULL,
	buyer                JSONB NOT NULL,
	seller               JSONB NOT NULL,
	issue_date           DATE NOT NULL,
	reason               TEXT NOT NULL,
	currency             TEXT NOT NULL,
	prices_include_tax   BOOLEAN NOT NULL,
	content              JSONB NOT NULL,
	total_lines_net      BIGINT NOT NULL,
	total_allowances     BIGINT NOT NULL,
	total_charges        BIGINT NOT NULL,
	total_tax_exclusive  BIGINT NOT NULL,
	total_tax            BIGINT NOT NULL,
	total_tax_inclusive  BIGINT NOT NULL,
	total_paid           BIGINT NOT NULL,
	total_rounding       BIGINT NOT NULL,
	total_due            BIGINT NOT NULL,
	applied_to_invoice   BIGINT NOT NULL,
	credited_to_customer BIGINT NOT NULL,
	content_hash         TEXT NOT NULL,
	created_at           TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (org_id, id),
	FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id)
);

CREATE UNIQUE INDEX credit_notes_number ON credit_notes (org_id, number) WHERE number <> '';
CREATE INDEX credit_notes_invoice ON credit_notes (org_id, invoice_id, id);

CREATE TABLE payments (
	id                   TEXT COLLATE "C" NOT NULL,
	org_id               TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	invoice_id           TEXT COLLATE "C" NOT NULL,
	customer_id          TEXT COLLATE "C" NOT NULL,
	amount               BIGINT NOT NULL,
	currency             TEXT NOT NULL,
	paid_on              DATE NOT NULL,
	method               TEXT NOT NULL,
	reference            TEXT NOT NULL,
	applied_to_invoice   BIGINT NOT NULL,
	credited_to_customer BIGINT NOT NULL,
	created_at           TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (org_id, id),
	FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id)
);

CREATE INDEX payments_invoice ON payments (org_id, invoice_id, id);

-- The counter of each gap-free number series of an organization.
CREATE TABLE number_series (
	org_id     TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	series     TEXT NOT NULL,
	last_value BIGINT NOT NULL,
	PRIMARY KEY (org_id, series)
);

CREATE TABLE users (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	email      TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
	org_id     TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'accountant', 'viewer')),
	created_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (org_id, user_id)
);

CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE api_keys (
	id           TEXT COLLATE "C" NOT NULL,
	org_id       TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	name         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	hash         BYTEA NOT NULL UNIQUE, -- SHA-256 of the secret
	scopes       JSONB NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ,
	last_used_at TIMESTAMPTZ,
	revoked_at   TIMESTAMPTZ,
	PRIMARY KEY (org_id, id)
);

-- TouchAPIKey names a key by id alone.
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);

CREATE TABLE idempotency_keys (
	org_id       TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	idem_key     TEXT NOT NULL,
	method       TEXT NOT NULL,
	path         TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	status       BIGINT NOT NULL, -- 0 while the first request runs
	content_type TEXT NOT NULL,
	body         BYTEA,
	created_at   TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (org_id, idem_key)
);
