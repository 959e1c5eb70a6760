-- Roster schema for PostgreSQL, version 1: the final schema of the SQLite
-- store's migrations 0001 to 0004, with the same table and column names.
-- Times are Unix microseconds (UTC) in BIGINT, as in SQLite; flags are
-- BOOLEAN; hashes are BYTEA.

CREATE TABLE organizations (
	id      TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	created BIGINT NOT NULL
);

CREATE TABLE directories (
	id             TEXT PRIMARY KEY,
	org_id         TEXT NOT NULL REFERENCES organizations(id),
	name           TEXT NOT NULL,
	created        BIGINT NOT NULL,
	icon           TEXT NOT NULL DEFAULT '',
	profile        TEXT NOT NULL DEFAULT 'generic',
	capture_bodies BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX directories_org ON directories(org_id);

CREATE TABLE api_keys (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES organizations(id),
	name        TEXT NOT NULL,
	secret_hash BYTEA NOT NULL UNIQUE,
	users_priv  TEXT NOT NULL,
	groups_priv TEXT NOT NULL,
	created     BIGINT NOT NULL,
	expires     BIGINT,
	revoked     BOOLEAN NOT NULL DEFAULT FALSE,
	description TEXT NOT NULL DEFAULT '',
	last_used   BIGINT
);
CREATE INDEX api_keys_org ON api_keys(org_id);

-- Which keys an IdP configuration accepts.
CREATE TABLE directory_keys (
	directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
	key_id       TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
	PRIMARY KEY (directory_id, key_id)
);
CREATE INDEX directory_keys_key ON directory_keys(key_id);

-- Users and Groups. The columns hold what filters and sorting need, so
-- that IdP queries run on indexes; doc holds the canonical document.
-- Text that filters compare and sort is collated "C" (byte order), so
-- ranges, sw and sorting behave as on SQLite whatever the database's
-- locale; case-insensitivity comes from the *_ci columns, not a collation.
CREATE TABLE resources (
	rid         BIGSERIAL PRIMARY KEY,        -- creation order, membership key
	dir_id      TEXT NOT NULL REFERENCES directories(id),
	type        TEXT COLLATE "C" NOT NULL,                -- 'User' or 'Group'
	id          TEXT COLLATE "C" NOT NULL,
	name_ci     TEXT COLLATE "C" NOT NULL,                -- lower(userName) or lower(group displayName)
	display_ci  TEXT COLLATE "C",                         -- lower(user displayName)
	label       TEXT COLLATE "C" NOT NULL,                -- display of a member: displayName, else userName
	external_id TEXT COLLATE "C",
	created     BIGINT NOT NULL,
	modified    BIGINT NOT NULL,
	version     BIGINT NOT NULL,
	doc         JSONB NOT NULL
);
CREATE UNIQUE INDEX resources_id ON resources(dir_id, id);
CREATE UNIQUE INDEX resources_name ON resources(dir_id, type, name_ci);
CREATE INDEX resources_display ON resources(dir_id, type, display_ci);
CREATE INDEX resources_external ON resources(dir_id, type, external_id);
CREATE INDEX resources_modified ON resources(dir_id, type, modified);
-- An unfiltered page is read in creation order from here instead of
-- sorting the whole directory (SQLite's index ends with the implicit rowid).
CREATE INDEX resources_type ON resources(dir_id, type, rid);

-- User emails, so that emails[type eq "work"].value eq "…" is an index
-- lookup rather than a scan of every document.
CREATE TABLE emails (
	rid        BIGINT NOT NULL REFERENCES resources(rid) ON DELETE CASCADE,
	dir_id     TEXT NOT NULL,
	value_ci   TEXT COLLATE "C" NOT NULL,
	type_ci    TEXT COLLATE "C",
	display    TEXT COLLATE "C",
	is_primary BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX emails_value ON emails(dir_id, value_ci);
CREATE INDEX emails_rid ON emails(rid);

-- Group membership: one row per member, so adding or removing k members
-- of a large group touches k rows.
CREATE TABLE memberships (
	group_rid  BIGINT NOT NULL REFERENCES resources(rid) ON DELETE CASCADE,
	member_rid BIGINT NOT NULL REFERENCES resources(rid) ON DELETE CASCADE,
	PRIMARY KEY (group_rid, member_rid)
);
CREATE INDEX memberships_member ON memberships(member_rid);

-- org_id NULL: a server admin, who manages every organization.
CREATE TABLE admins (
	id          TEXT PRIMARY KEY,
	org_id      TEXT REFERENCES organizations(id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	secret_hash BYTEA NOT NULL UNIQUE,
	created     BIGINT NOT NULL,
	revoked     BOOLEAN NOT NULL DEFAULT FALSE
);
-- An organization's admins, for listing and revoking.
CREATE INDEX admins_org ON admins(org_id);

CREATE TABLE oauth_clients (
	id           TEXT PRIMARY KEY,            -- the client_id
	org_id       TEXT NOT NULL REFERENCES organizations(id),
	directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	users_priv   TEXT NOT NULL,
	groups_priv  TEXT NOT NULL,
	token_ttl    BIGINT NOT NULL,             -- seconds
	created      BIGINT NOT NULL
);
CREATE INDEX oauth_clients_directory ON oauth_clients(directory_id);

CREATE TABLE oauth_secrets (
	id          TEXT PRIMARY KEY,
	client_id   TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	secret_hash BYTEA NOT NULL UNIQUE,
	created     BIGINT NOT NULL,
	expires     BIGINT,
	revoked     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX oauth_secrets_client ON oauth_secrets(client_id);

CREATE TABLE access_tokens (
	token_hash BYTEA PRIMARY KEY,
	client_id  TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	expires    BIGINT NOT NULL
);
CREATE INDEX access_tokens_expires ON access_tokens(expires);
CREATE INDEX access_tokens_client ON access_tokens(client_id);

-- The request log: one row per SCIM request to a directory. Latency is in
-- microseconds. No foreign keys: entries outlive a deleted directory until
-- retention prunes them, and an insert need not look up the directory.
CREATE TABLE request_log (
	id              BIGSERIAL PRIMARY KEY,
	time            BIGINT NOT NULL,
	org_id          TEXT NOT NULL,
	directory_id    TEXT NOT NULL,
	credential_kind TEXT NOT NULL,
	credential_id   TEXT NOT NULL,
	credential_name TEXT NOT NULL,
	method          TEXT NOT NULL,
	route           TEXT NOT NULL,
	resource_type   TEXT NOT NULL,
	resource_id     TEXT,                     -- NULL when none, so that the partial index skips it
	summary         TEXT NOT NULL,
	status          INTEGER NOT NULL,
	scim_type       TEXT NOT NULL,
	latency         BIGINT NOT NULL,
	request_id      TEXT NOT NULL,
	body            TEXT                      -- only with the directory's body capture on
);
-- SQLite's indexes end with the rowid implicitly; here id is explicit so
-- that ORDER BY time DESC, id DESC is read straight from the index.
CREATE INDEX request_log_directory ON request_log(org_id, directory_id, time, id);
CREATE INDEX request_log_resource ON request_log(org_id, resource_id, time, id) WHERE resource_id IS NOT NULL;
CREATE INDEX request_log_org ON request_log(org_id, time, id);
-- Pruning by age.
CREATE INDEX request_log_time ON request_log(time, id);
