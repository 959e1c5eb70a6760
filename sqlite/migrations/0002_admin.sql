-- The admin side: key metadata, directory settings, admins and OAuth 2.0
-- client credentials.

ALTER TABLE api_keys ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN last_used INTEGER;
CREATE INDEX api_keys_org ON api_keys(org_id);

ALTER TABLE directories ADD COLUMN icon TEXT NOT NULL DEFAULT '';
ALTER TABLE directories ADD COLUMN profile TEXT NOT NULL DEFAULT 'generic';
CREATE INDEX directories_org ON directories(org_id);
CREATE INDEX directory_keys_key ON directory_keys(key_id);

-- org_id NULL: a server admin, who manages every organization.
CREATE TABLE admins (
	id          TEXT PRIMARY KEY,
	org_id      TEXT REFERENCES organizations(id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	secret_hash BLOB NOT NULL UNIQUE,
	created     INTEGER NOT NULL
);

CREATE TABLE oauth_clients (
	id           TEXT PRIMARY KEY,            -- the client_id
	org_id       TEXT NOT NULL REFERENCES organizations(id),
	directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	users_priv   TEXT NOT NULL,
	groups_priv  TEXT NOT NULL,
	token_ttl    INTEGER NOT NULL,            -- seconds
	created      INTEGER NOT NULL
);
CREATE INDEX oauth_clients_directory ON oauth_clients(directory_id);

CREATE TABLE oauth_secrets (
	id          TEXT PRIMARY KEY,
	client_id   TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	secret_hash BLOB NOT NULL UNIQUE,
	created     INTEGER NOT NULL,
	expires     INTEGER,
	revoked     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oauth_secrets_client ON oauth_secrets(client_id);

CREATE TABLE access_tokens (
	token_hash BLOB PRIMARY KEY,
	client_id  TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	expires    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_tokens_expires ON access_tokens(expires);
CREATE INDEX access_tokens_client ON access_tokens(client_id);
