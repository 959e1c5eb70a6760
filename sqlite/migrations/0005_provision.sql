-- Provisioning (package provision): jobs and the state the engine keeps
-- between cycles. Times are Unix microseconds (UTC); NULL where a time is
-- not set. The same tables and columns exist in PostgreSQL (0002), so that
-- `roster copy` carries them over.
--
-- Every table of a job's state references provision_jobs with ON DELETE
-- CASCADE, so that deleting a job is one DELETE that takes its links,
-- members, state, lease and log with it, whatever the engine adds later.
-- Jobs go with their organization the same way (organizations cannot be
-- deleted yet; when they can, their jobs need no extra statement).

CREATE TABLE provision_jobs (
	id         TEXT PRIMARY KEY,
	org_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	definition TEXT NOT NULL,                 -- the Job as JSON, secrets sealed
	enabled    INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	updated    INTEGER NOT NULL,
	UNIQUE (org_id, name)                     -- also FindJob's and ListJobs' index
);

-- One row per job once it ran; no row reads as the zero state.
CREATE TABLE provision_state (
	job_id    TEXT PRIMARY KEY REFERENCES provision_jobs(id) ON DELETE CASCADE,
	watermark TEXT NOT NULL,
	cycle     TEXT NOT NULL,
	running   INTEGER NOT NULL,
	started   INTEGER,
	finished  INTEGER,
	counts    TEXT NOT NULL                   -- provision.Counts as JSON
);

-- The connector data store: which target object each source object is.
-- exported is a BLOB (BYTEA in PostgreSQL) rather than JSON so that the
-- bytes the engine wrote come back unchanged.
CREATE TABLE provision_links (
	job_id      TEXT NOT NULL REFERENCES provision_jobs(id) ON DELETE CASCADE,
	kind        TEXT NOT NULL,
	source_id   TEXT NOT NULL,
	target_id   TEXT NOT NULL,                -- '' until created or matched
	source_hash TEXT NOT NULL,
	exported    BLOB,
	state       TEXT NOT NULL,
	failures    INTEGER NOT NULL,
	error       TEXT NOT NULL,
	retry_at    INTEGER,
	cycle       TEXT NOT NULL,
	PRIMARY KEY (job_id, kind, source_id)     -- Links, and UnseenLinks' keyset pages
);
-- LinkByTarget: resolving a target's reference to its source object. It
-- ends with source_id so that the lookup's ORDER BY source_id LIMIT 1 is
-- read from it (without, SQLite walks the primary key instead).
CREATE INDEX provision_links_target ON provision_links(job_id, kind, target_id, source_id);

-- Memberships last exported to each group, one row each, so that a large
-- group costs one row per change. The second index finds the rows of a
-- member whose link is deleted.
CREATE TABLE provision_members (
	job_id           TEXT NOT NULL REFERENCES provision_jobs(id) ON DELETE CASCADE,
	group_source_id  TEXT NOT NULL,
	member_source_id TEXT NOT NULL,
	PRIMARY KEY (job_id, group_source_id, member_source_id)
) WITHOUT ROWID;
CREATE INDEX provision_members_member ON provision_members(job_id, member_source_id);

-- Which replica runs a job, until when. A row whose expires has passed is
-- free for the taking.
CREATE TABLE provision_leases (
	job_id  TEXT PRIMARY KEY REFERENCES provision_jobs(id) ON DELETE CASCADE,
	holder  TEXT NOT NULL,
	expires INTEGER NOT NULL
);

-- The provisioning log: what each cycle did to each object. Entries are
-- read newest first by id (insertion order), which every index ends with
-- so a page is read from an index in order.
CREATE TABLE provision_log (
	id        INTEGER PRIMARY KEY,
	job_id    TEXT NOT NULL REFERENCES provision_jobs(id) ON DELETE CASCADE,
	cycle     TEXT NOT NULL,
	time      INTEGER NOT NULL,
	kind      TEXT NOT NULL,
	source_id TEXT NOT NULL,
	target_id TEXT NOT NULL,
	action    TEXT NOT NULL,
	status    TEXT NOT NULL,
	steps     TEXT NOT NULL,                  -- []provision.Step as JSON
	modified  TEXT,                           -- JSON object, NULL when none
	error     TEXT NOT NULL
);
CREATE INDEX provision_log_job ON provision_log(job_id, id);
CREATE INDEX provision_log_cycle ON provision_log(job_id, cycle, id);
-- "What happened to this object?" by its source or its target id.
CREATE INDEX provision_log_source ON provision_log(job_id, source_id, id);
CREATE INDEX provision_log_target ON provision_log(job_id, target_id, id);
-- Failures only: few rows, so a partial index.
CREATE INDEX provision_log_failed ON provision_log(job_id, id) WHERE status = 'Failure';
-- Pruning by age (roster serve, hourly).
CREATE INDEX provision_log_time ON provision_log(time);
