-- 0008: identity (issue 3), SQLite dialect; postgres/migrations/0008_identity.sql
-- is its twin. Users get a password; invitations, sessions and password
-- resets are stored by the SHA-256 of their secret, never the secret itself;
-- sign-in attempts are counted in the database so that every replica
-- throttles the same account and address.

-- password_hash is an argon2id PHC string, or '' for a user who has none
-- (made by an invitation not yet accepted, or by single sign-on).
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_verified_at TEXT;
ALTER TABLE users ADD COLUMN updated_at TEXT;

-- Emails are compared case-insensitively; users.email is stored lower-case
-- by the identity service, this index keeps older rows honest too.
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

CREATE TABLE invitations (
	id          TEXT NOT NULL PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES organizations (id),
	email       TEXT NOT NULL,
	role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'accountant', 'viewer')),
	token_hash  BLOB NOT NULL UNIQUE, -- SHA-256 of the token in the link
	invited_by  TEXT NOT NULL,        -- a user or API key id
	created_at  TEXT NOT NULL,
	expires_at  TEXT NOT NULL,
	accepted_at TEXT
) STRICT;

CREATE INDEX invitations_org ON invitations (org_id, id);

CREATE TABLE sessions (
	id           TEXT NOT NULL PRIMARY KEY, -- public id, to list and revoke
	hash         BLOB NOT NULL UNIQUE,      -- SHA-256 of the 256-bit cookie value
	user_id      TEXT NOT NULL REFERENCES users (id),
	state        TEXT NOT NULL CHECK (state IN ('active', 'mfa_pending')),
	user_agent   TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	last_seen_at TEXT NOT NULL,
	expires_at   TEXT NOT NULL, -- the absolute lifetime's end
	revoked_at   TEXT
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id, id);

CREATE TABLE password_resets (
	hash       BLOB NOT NULL PRIMARY KEY, -- SHA-256 of the token in the mail
	user_id    TEXT NOT NULL REFERENCES users (id),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	used_at    TEXT
) STRICT;

CREATE INDEX password_resets_user ON password_resets (user_id);

-- One row per throttled subject: "account:<hash of the email>" or
-- "address:<address or /64>". next_allowed_at is when the next attempt may
-- be made; failures decay after an hour without one.
CREATE TABLE signin_throttle (
	subject         TEXT NOT NULL PRIMARY KEY,
	failures        INTEGER NOT NULL CHECK (failures >= 0),
	last_attempt_at TEXT NOT NULL,
	next_allowed_at TEXT NOT NULL
) STRICT;
