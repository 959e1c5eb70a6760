-- The request log's database, requests.db: one row per SCIM request to a
-- directory. Times are Unix microseconds (UTC), latency is in microseconds.
-- Applied at every open; each statement is idempotent.
--
-- No foreign keys (the directories are in the other file): entries outlive
-- a deleted directory until retention prunes them, and an insert need not
-- look up the directory.

CREATE TABLE IF NOT EXISTS request_log (
	id              INTEGER PRIMARY KEY,
	time            INTEGER NOT NULL,
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
	latency         INTEGER NOT NULL,
	request_id      TEXT NOT NULL,
	body            TEXT                      -- only with the directory's body capture on
);
-- A directory's log, newest first, also serves a whole organization's
-- through its org_id prefix. The rowid (id) ends every index, so
-- ORDER BY time DESC, id DESC is read straight from it.
CREATE INDEX IF NOT EXISTS request_log_directory ON request_log(org_id, directory_id, time);
-- "What happened to this user?": most requests (lists, discovery) have no
-- resource id, and the partial index leaves them out.
CREATE INDEX IF NOT EXISTS request_log_resource ON request_log(org_id, resource_id, time) WHERE resource_id IS NOT NULL;
-- Pruning by age.
CREATE INDEX IF NOT EXISTS request_log_time ON request_log(time);
