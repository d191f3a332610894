-- 0009: portal single sign-on with OpenID Connect per organization
-- (internal/auth/sso), PostgreSQL dialect; sqlite/migrations/0009_sso.sql
-- is its twin.
--
-- One configuration per organization. client_secret is sealed by the vault
-- (bound to the organization, table, column and row); allowed_domains is a
-- JSON array of lower-case domains, empty for any.
CREATE TABLE sso_configs (
	org_id          TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES organizations (id),
	issuer          TEXT NOT NULL CHECK (issuer <> ''),
	client_id       TEXT NOT NULL CHECK (client_id <> ''),
	client_secret   TEXT NOT NULL,
	allowed_domains JSONB NOT NULL,
	create_members  BOOLEAN NOT NULL,
	default_role    TEXT NOT NULL CHECK (default_role IN ('admin', 'accountant', 'viewer')),
	enabled         BOOLEAN NOT NULL,
	updated_at      TIMESTAMPTZ NOT NULL
);

-- A sign-in in progress, between the redirect to the identity provider and
-- its answer. Rows are found by the SHA-256 of the state the browser
-- carries, bound to the browser by the SHA-256 of a cookie's value, and
-- deleted when the answer comes back: a state works once. verifier is the
-- PKCE code verifier, sealed like the client secret.
CREATE TABLE sso_flows (
	state_hash   BYTEA NOT NULL PRIMARY KEY,
	browser_hash BYTEA NOT NULL,
	org_id       TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	nonce        TEXT NOT NULL,
	verifier     TEXT NOT NULL,
	next         TEXT NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX sso_flows_expires ON sso_flows (expires_at);
