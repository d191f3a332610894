-- 0008: identity (issue 3), PostgreSQL dialect; sqlite/migrations/0008_identity.sql
-- is its twin. Users get a password; invitations, sessions and password
-- resets are stored by the SHA-256 of their secret, never the secret itself;
-- sign-in attempts are counted in the database so that every replica
-- throttles the same account and address.

-- password_hash is an argon2id PHC string, or '' for a user who has none
-- (made by an invitation not yet accepted, or by single sign-on).
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN updated_at TIMESTAMPTZ;

-- Emails are compared case-insensitively; users.email is stored lower-case
-- by the identity service, this index keeps older rows honest too.
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

CREATE TABLE invitations (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	org_id      TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	email       TEXT NOT NULL,
	role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'accountant', 'viewer')),
	token_hash  BYTEA NOT NULL UNIQUE, -- SHA-256 of the token in the link
	invited_by  TEXT NOT NULL,         -- a user or API key id
	created_at  TIMESTAMPTZ NOT NULL,
	expires_at  TIMESTAMPTZ NOT NULL,
	accepted_at TIMESTAMPTZ
);

CREATE INDEX invitations_org ON invitations (org_id, id);

CREATE TABLE sessions (
	id           TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- public id, to list and revoke
	hash         BYTEA NOT NULL UNIQUE,                 -- SHA-256 of the 256-bit cookie value
	user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	state        TEXT NOT NULL CHECK (state IN ('active', 'mfa_pending')),
	user_agent   TEXT NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	last_seen_at TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ NOT NULL, -- the absolute lifetime's end
	revoked_at   TIMESTAMPTZ
);

CREATE INDEX sessions_user ON sessions (user_id, id);

CREATE TABLE password_resets (
	hash       BYTEA NOT NULL PRIMARY KEY, -- SHA-256 of the token in the mail
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	used_at    TIMESTAMPTZ
);

CREATE INDEX password_resets_user ON password_resets (user_id);

-- One row per throttled subject: "account:<hash of the email>" or
-- "address:<address or /64>". next_allowed_at is when the next attempt may
-- be made; failures decay after an hour without one.
CREATE TABLE signin_throttle (
	subject         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	failures        INTEGER NOT NULL CHECK (failures >= 0),
	last_attempt_at TIMESTAMPTZ NOT NULL,
	next_allowed_at TIMESTAMPTZ NOT NULL
);
