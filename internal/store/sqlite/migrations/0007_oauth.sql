-- Organizations' identity providers for machine clients' OAuth 2.0 bearer
-- tokens (internal/auth.OAuthProvider), SQLite dialect; postgres/
-- migrations/0007_oauth.sql is its twin.
--
-- One provider per organization. A token names its issuer and audience,
-- and the pair names the organization, so no two organizations share it;
-- the unique index also serves the lookup by issuer at every token.
-- algorithms and roles are JSON: an array of algorithm names and an object
-- from role-claim values to arrays of scopes.
CREATE TABLE oauth_providers (
	org_id      TEXT NOT NULL PRIMARY KEY REFERENCES organizations (id),
	issuer      TEXT NOT NULL CHECK (issuer <> ''),
	audience    TEXT NOT NULL CHECK (audience <> ''),
	jwks_url    TEXT NOT NULL,
	algorithms  TEXT NOT NULL,
	scope_claim TEXT NOT NULL,
	role_claim  TEXT NOT NULL,
	roles       TEXT NOT NULL,
	updated_at  TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX oauth_providers_issuer_audience ON oauth_providers (issuer, audience);
