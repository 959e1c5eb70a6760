package postgres

import (
	"database/sql"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore"
)

// dialect is PostgreSQL's side of the SQL shared with the sqlite package.
var dialect = &sqlstore.Dialect{
	Param: func(n int) string { return "$" + strconv.Itoa(n) },
	True:  "TRUE",
	False: "FALSE",
	// lower() in a UTF-8 database lowers Unicode letters as strings.ToLower
	// does for the comparison value. The expression takes the database's
	// default collation first: under COLLATE "C", which a column may
	// declare for byte order, lower() folds ASCII only.
	Fold: func(sql string) string { return "lower(" + sql + ` COLLATE "default")` },
	// Text read from a JSONB document, which no index serves, compares
	// bytes in ranges and sorting, as SQLite does, whatever the database's
	// collation. Columns keep their own collation so that their indexes
	// serve ranges and sorting.
	Collate: func(sql string) string { return "(" + sql + ` COLLATE "C")` },
	// A path is the text[] that #> and #>> take.
	Path: func(keys ...string) any { return keys },
	// A value of another JSON type than the kind reads as NULL rather than
	// failing the cast.
	Extract: func(doc, kind string) string {
		switch kind {
		case "bool":
			return "(CASE WHEN jsonb_typeof(" + doc + " #> ?::text[]) = 'boolean' THEN (" + doc + " #>> ?::text[])::boolean END)"
		case "number":
			return "(CASE WHEN jsonb_typeof(" + doc + " #> ?::text[]) = 'number' THEN (" + doc + " #>> ?::text[])::float8 END)"
		}
		return "(" + doc + " #>> ?::text[])"
	},
	TypeOf: "jsonb_typeof(r.doc #> ?::text[])",
	// Anything but an array has no elements.
	Elements:     "jsonb_array_elements(CASE WHEN jsonb_typeof(r.doc #> ?::text[]) = 'array' THEN r.doc #> ?::text[] ELSE '[]'::jsonb END) WITH ORDINALITY j(value, n)",
	PrimaryFirst: "coalesce(j.value -> 'primary' = 'true'::jsonb, FALSE) DESC, j.n",
	TextArg:      "::text",
	Instr:        "strpos",
	Right:        func(x, n string) string { return "right(" + x + ", " + n + "::int)" },

	// Reads see one snapshot, as SQLite's do under WAL.
	ReadTx: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	// Writers through any replica take turns on one resource.
	ForUpdate: " FOR UPDATE",
	Retryable: retryable,
	IsUnique:  isUnique,
	// A member deleted through another replica while it is being added.
	KeyShare: " FOR KEY SHARE",
	IsForeignKey: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23503"
	},
	BadValue: badText,
	// A []byte argument would be bytea; JSONB takes the text.
	Doc:      func(doc []byte) any { return string(doc) },
	Greatest: "greatest",
	// Lists order by id in byte order (COLLATE "C"), as SQLite's BINARY
	// collation does, so that both stores list in the same order whatever
	// the database's locale.
	ByteOrder: ` COLLATE "C"`,
	// Without the lock two replicas started together could each see no
	// organization and each create one.
	Bootstrap: "SELECT pg_advisory_xact_lock(" + strconv.Itoa(int(bootstrapLock)) + ", hashtext(current_schema()))",
	// A large directory takes longer to delete than one statement may run.
	NoTimeout: "SET LOCAL statement_timeout = 0",
	// Without statistics the planner may walk a whole directory for a
	// userName match (see sqlstore.statsKeeper).
	Analyze: "ANALYZE resources, emails, memberships",
	GroupsOf: `(SELECT coalesce(json_agg(json_build_array(g.id, g.type, g.label) ORDER BY m.group_rid), '[]')::text
		FROM memberships m JOIN resources g ON g.rid = m.group_rid WHERE m.member_rid = r.rid)`,
}

// badText turns PostgreSQL's refusal of the NUL character, which neither
// text nor JSONB can hold (SQLite can), into a SCIM invalidValue error
// rather than a server error; other errors pass through.
func badText(err error) error {
	var e *pgconn.PgError
	if errors.As(err, &e) && (e.Code == "22P05" || e.Code == "22021") {
		return roster.SCIMErrorf(roster.ScimInvalidValue, "values cannot contain the NUL character (U+0000)")
	}
	return err
}

// retryable reports whether a transaction failed only because another
// transaction got in its way (deadlock or serialization failure), so that
// running it again can succeed: PostgreSQL aborts one of two replicas or
// transactions that lock the same rows in another order (a group update
// bumping a user being deleted).
func retryable(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "40P01" || e.Code == "40001")
}
