-- Multi-factor authentication (internal/auth/mfa), PostgreSQL dialect;
-- sqlite/migrations/0005_mfa.sql is its twin and explains the tables.

ALTER TABLE organizations ADD COLUMN mfa_required BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE mfa_totp (
	user_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret       BYTEA NOT NULL, -- sealed
	confirmed_at TIMESTAMPTZ,
	last_step    BIGINT NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE mfa_recovery_codes (
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash       BYTEA NOT NULL, -- SHA-256 of a 120-bit code
	created_at TIMESTAMPTZ NOT NULL,
	used_at    TIMESTAMPTZ,
	PRIMARY KEY (user_id, hash)
);

CREATE TABLE mfa_passkeys (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	credential_id BYTEA NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	credential    JSONB NOT NULL,
	sign_count    BIGINT NOT NULL CHECK (sign_count >= 0),
	clone_warning BOOLEAN NOT NULL,
	created_at    TIMESTAMPTZ NOT NULL,
	last_used_at  TIMESTAMPTZ
);

CREATE INDEX mfa_passkeys_user ON mfa_passkeys (user_id);

CREATE TABLE mfa_ceremonies (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	user_id    TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL CHECK (kind IN ('register', 'login', 'passkey')),
	session    JSONB NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX mfa_ceremonies_expiry ON mfa_ceremonies (expires_at);
