-- 0010: seal users' and invitations' emails (encryption at rest),
-- PostgreSQL dialect; sqlite/migrations/0010_identity_sealing.sql is its
-- twin and explains the columns.
ALTER TABLE users ADD COLUMN email_bidx TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE users SET email_bidx = lower(trim(email));
DROP INDEX users_email_lower;
ALTER TABLE users DROP CONSTRAINT users_email_key;
CREATE UNIQUE INDEX users_email_bidx ON users (email_bidx);

ALTER TABLE invitations ADD COLUMN email_bidx TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE invitations SET email_bidx = lower(trim(email));
CREATE INDEX invitations_email_bidx ON invitations (email_bidx);
