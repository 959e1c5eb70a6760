-- The number of resources of each type in each directory, so that an
-- unfiltered list's totalResults is one primary-key read instead of a walk
-- of the directory's index (82 ms at 1,000,000 users). Triggers rather than
-- code in the store, so that every path that inserts or deletes resources
-- keeps it right: Create, Delete, the directory's deletion, seeding through
-- sqlstore.InsertResource, a copy into this database. removed counts the
-- deletions ever made: List remembers where sequential pages ended and
-- trusts that position only while no resource of the directory and type
-- was deleted since (a deletion shifts the positions after it; an insert
-- takes the largest rid, so it appends). The row goes with its directory.
CREATE TABLE resource_counts (
	dir_id  TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
	type    TEXT NOT NULL,
	n       INTEGER NOT NULL,
	removed INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (dir_id, type)
) WITHOUT ROWID;

INSERT INTO resource_counts (dir_id, type, n)
	SELECT dir_id, type, count(*) FROM resources GROUP BY dir_id, type;

CREATE TRIGGER resources_count_insert AFTER INSERT ON resources
BEGIN
	INSERT INTO resource_counts (dir_id, type, n) VALUES (new.dir_id, new.type, 1)
		ON CONFLICT (dir_id, type) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER resources_count_delete AFTER DELETE ON resources
BEGIN
	UPDATE resource_counts SET n = n - 1, removed = removed + 1
		WHERE dir_id = old.dir_id AND type = old.type;
END;
