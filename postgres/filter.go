package postgres

import (
	"strconv"

	"github.com/roster-scim/roster/internal/sqlstore"
)

// dialect is PostgreSQL's side of the filter compiler shared with the
// sqlite package.
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
}
