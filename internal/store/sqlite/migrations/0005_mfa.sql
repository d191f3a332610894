-- Multi-factor authentication (internal/auth/mfa), SQLite dialect;
-- postgres/migrations/0005_mfa.sql is its twin.
--
-- Factors belong to a user, not to an organization: one person signs in
-- once, whatever organizations they belong to. Every table is keyed or
-- indexed by user_id and every query names it.

-- "MFA required for every member": a member without a second factor is
-- sent to enrol before anything else (mfa.Service.RequiredFor).
ALTER TABLE organizations ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0 CHECK (mfa_required IN (0, 1));

-- One TOTP secret per user. secret is sealed (encryption at rest, bound to
-- the user, table, column and row); it is pending until confirmed_at is set
-- by a first valid code. last_step is the highest 30-second step whose code
-- was accepted: a code is accepted only for a greater step, in one
-- conditional UPDATE, so that two replicas cannot both accept one code.
CREATE TABLE mfa_totp (
	user_id      TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret       BLOB NOT NULL,
	confirmed_at TEXT,
	last_step    INTEGER NOT NULL,
	created_at   TEXT NOT NULL
) STRICT;

-- Recovery codes: SHA-256 of codes of 120 random bits (ASVS 6.5.2 allows a
-- plain hash from 112 bits on), so a code is found and consumed by its hash
-- in one conditional UPDATE.
CREATE TABLE mfa_recovery_codes (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash       BLOB NOT NULL,
	created_at TEXT NOT NULL,
	used_at    TEXT,
	PRIMARY KEY (user_id, hash)
) STRICT;

-- WebAuthn credentials (passkeys). credential is go-webauthn's Credential
-- as JSON (public key, flags, AAGUID, transports): nothing secret.
-- sign_count is kept in its own column so that it only ever grows, by a
-- conditional UPDATE; clone_warning marks a credential whose counter went
-- backwards, which then no longer signs in.
CREATE TABLE mfa_passkeys (
	id            TEXT NOT NULL PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	credential_id BLOB NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	credential    TEXT NOT NULL, -- JSON
	sign_count    INTEGER NOT NULL CHECK (sign_count >= 0),
	clone_warning INTEGER NOT NULL CHECK (clone_warning IN (0, 1)),
	created_at    TEXT NOT NULL,
	last_used_at  TEXT
) STRICT;

CREATE INDEX mfa_passkeys_user ON mfa_passkeys (user_id);

-- WebAuthn ceremonies in progress: the challenge and what go-webauthn needs
-- to finish, kept server-side so that any replica can finish a ceremony
-- another began, each consumed once and refused after expires_at. user_id
-- is NULL for a discoverable ("passkey alone") sign-in.
CREATE TABLE mfa_ceremonies (
	id         TEXT NOT NULL PRIMARY KEY,
	user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL CHECK (kind IN ('register', 'login', 'passkey')),
	session    TEXT NOT NULL, -- JSON
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX mfa_ceremonies_expiry ON mfa_ceremonies (expires_at);
