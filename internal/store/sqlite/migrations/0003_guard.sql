-- The guard's settings (internal/guard), SQLite dialect; postgres/migrations/
-- 0003_guard.sql is its twin.
--
-- ip_rules are global, not per organization: they protect the whole server,
-- and every replica reads them every few seconds. cidr is the canonical,
-- masked form written by guard.ParsePrefix ("203.0.113.0/24"); the check
-- keeps a typo from becoming a rule that matches nothing.
CREATE TABLE ip_rules (
	id         TEXT NOT NULL PRIMARY KEY,
	action     TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
	cidr       TEXT NOT NULL CHECK (cidr LIKE '%/%'),
	note       TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT
) STRICT;

-- An organization's own rate limits, which replace the server's defaults
-- for its API keys (scope 'key') and for itself ('org') in a class of
-- requests. Whole requests per whole seconds: no fractional rate is stored.
CREATE TABLE org_rate_limits (
	org_id         TEXT NOT NULL REFERENCES organizations (id),
	class          TEXT NOT NULL CHECK (class IN ('api', 'events')),
	scope          TEXT NOT NULL CHECK (scope IN ('key', 'org')),
	requests       INTEGER NOT NULL CHECK (requests > 0),
	period_seconds INTEGER NOT NULL CHECK (period_seconds > 0),
	burst          INTEGER NOT NULL CHECK (burst > 0),
	updated_at     TEXT NOT NULL,
	PRIMARY KEY (org_id, class, scope)
) STRICT;
