-- 0010: seal users' and invitations' emails (encryption at rest), SQLite
-- dialect; postgres/migrations/0010_identity_sealing.sql is its twin.
--
-- users.email is sealed under the user's own keys, invitations.email under
-- the organization's; both become ciphertext, which no index can compare.
-- Exact lookups (sign-in by email, an address's invitations) go through
-- email_bidx: HMAC-SHA256 of the trimmed, lower-cased address with the
-- installation's blind-index key (the key ring "server" in vault_keys),
-- which sign-in can compute before it knows the user. The uniqueness of
-- users' emails moves to that column.
--
-- The database does not hold the keys, so rows already here cannot be
-- sealed in SQL: their email_bidx is set to the normalized address itself,
-- which lookups also try and which no blind index can equal (base64url has
-- no @). The re-encryption job that bursar serve starts seals them and
-- replaces it with the blind index.
ALTER TABLE users ADD COLUMN email_bidx TEXT NOT NULL DEFAULT '';
UPDATE users SET email_bidx = lower(trim(email));
DROP INDEX users_email_lower;
CREATE UNIQUE INDEX users_email_bidx ON users (email_bidx);
-- The UNIQUE of users.email in 0001 stays: SQLite drops a column's
-- constraint only by rebuilding the table, which other tables refer to.
-- It binds nothing any more: two sealings never give the same ciphertext.

ALTER TABLE invitations ADD COLUMN email_bidx TEXT NOT NULL DEFAULT '';
UPDATE invitations SET email_bidx = lower(trim(email));
CREATE INDEX invitations_email_bidx ON invitations (email_bidx);
