-- 0011: accounts an operator disabled (bursar admin disable-user), SQLite
-- dialect; postgres/migrations/0011_user_disabled.sql is its twin.
--
-- A disabled user signs in by no pathway and every session they hold is
-- refused (ASVS 5.0 7.4.2); the row stays, so that the audit log, documents
-- and memberships that name the user keep their meaning. NULL: enabled.
ALTER TABLE users ADD COLUMN disabled_at TEXT;
