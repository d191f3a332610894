-- 0009: portal single sign-on with OpenID Connect per organization
-- (internal/auth/sso), SQLite dialect; postgres/migrations/0009_sso.sql is
-- its twin.
--
-- One configuration per organization. client_secret is sealed by the vault
-- (bound to the organization, table, column and row); allowed_domains is a
-- JSON array of lower-case domains, empty for any.
CREATE TABLE sso_configs (
	org_id          TEXT NOT NULL PRIMARY KEY REFERENCES organizations (id),
	issuer          TEXT NOT NULL CHECK (issuer <> ''),
	client_id       TEXT NOT NULL CHECK (client_id <> ''),
	client_secret   TEXT NOT NULL,
	allowed_domains TEXT NOT NULL,
	create_members  INTEGER NOT NULL CHECK (create_members IN (0, 1)),
	default_role    TEXT NOT NULL CHECK (default_role IN ('admin', 'accountant', 'viewer')),
	enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	updated_at      TEXT NOT NULL
) STRICT;

-- A sign-in in progress, between the redirect to the identity provider and
-- its answer. Rows are found by the SHA-256 of the state the browser
-- carries, bound to the browser by the SHA-256 of a cookie's value, and
-- deleted when the answer comes back: a state works once. verifier is the
-- PKCE code verifier, sealed like the client secret.
CREATE TABLE sso_flows (
	state_hash   BLOB NOT NULL PRIMARY KEY,
	browser_hash BLOB NOT NULL,
	org_id       TEXT NOT NULL REFERENCES organizations (id),
	nonce        TEXT NOT NULL,
	verifier     TEXT NOT NULL,
	next         TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL
) STRICT;

CREATE INDEX sso_flows_expires ON sso_flows (expires_at);
