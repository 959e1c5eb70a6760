-- Roster schema, version 1. Times are Unix microseconds (UTC).

CREATE TABLE organizations (
	id      TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	created INTEGER NOT NULL
);

CREATE TABLE directories (
	id      TEXT PRIMARY KEY,
	org_id  TEXT NOT NULL REFERENCES organizations(id),
	name    TEXT NOT NULL,
	created INTEGER NOT NULL
);

CREATE TABLE api_keys (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES organizations(id),
	name        TEXT NOT NULL,
	secret_hash BLOB NOT NULL UNIQUE,
	users_priv  TEXT NOT NULL,
	groups_priv TEXT NOT NULL,
	created     INTEGER NOT NULL,
	expires     INTEGER,
	revoked     INTEGER NOT NULL DEFAULT 0
);

-- Which keys an IdP configuration accepts.
CREATE TABLE directory_keys (
	directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
	key_id       TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
	PRIMARY KEY (directory_id, key_id)
) WITHOUT ROWID;

-- Users and Groups. The columns hold what filters and sorting need, so
-- that IdP queries run on indexes; doc holds the canonical document.
CREATE TABLE resources (
	rid         INTEGER PRIMARY KEY,          -- creation order, membership key
	dir_id      TEXT NOT NULL REFERENCES directories(id),
	type        TEXT NOT NULL,                -- 'User' or 'Group'
	id          TEXT NOT NULL,
	name_ci     TEXT NOT NULL,                -- lower(userName) or lower(group displayName)
	display_ci  TEXT,                         -- lower(user displayName)
	label       TEXT NOT NULL,                -- display of a member: displayName, else userName
	external_id TEXT,
	created     INTEGER NOT NULL,
	modified    INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	doc         TEXT NOT NULL
);
CREATE UNIQUE INDEX resources_id ON resources(dir_id, id);
CREATE UNIQUE INDEX resources_name ON resources(dir_id, type, name_ci);
CREATE INDEX resources_display ON resources(dir_id, type, display_ci);
CREATE INDEX resources_external ON resources(dir_id, type, external_id);
CREATE INDEX resources_modified ON resources(dir_id, type, modified);
-- (dir_id, type) and the implicit rid: an unfiltered page is read in
-- creation order from here instead of sorting the whole directory.
CREATE INDEX resources_type ON resources(dir_id, type);

-- User emails, so that emails[type eq "work"].value eq "…" is an index
-- lookup rather than a scan of every document.
CREATE TABLE emails (
	rid      INTEGER NOT NULL REFERENCES resources(rid) ON DELETE CASCADE,
	dir_id   TEXT NOT NULL,
	value_ci TEXT NOT NULL,
	type_ci  TEXT,
	display  TEXT,
	is_primary INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX emails_value ON emails(dir_id, value_ci);
CREATE INDEX emails_rid ON emails(rid);

-- Group membership: one row per member, so adding or removing k members
-- of a large group touches k rows.
CREATE TABLE memberships (
	group_rid  INTEGER NOT NULL REFERENCES resources(rid) ON DELETE CASCADE,
	member_rid INTEGER NOT NULL REFERENCES resources(rid) ON DELETE CASCADE,
	PRIMARY KEY (group_rid, member_rid)
) WITHOUT ROWID;
CREATE INDEX memberships_member ON memberships(member_rid);
