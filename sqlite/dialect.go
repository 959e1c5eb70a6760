package sqlite

import (
	"database/sql"

	"github.com/roster-scim/roster/internal/sqlstore"
)

// dialect is SQLite's side of the SQL shared with the postgres package.
var dialect = &sqlstore.Dialect{
	Param:   func(int) string { return "?" },
	Prepare: true,
	True:    "1",
	False:   "0",
	// SQLite's lower() folds ASCII only, so with it `title eq "éclair"`
	// missed "Éclair". foldFunc lowers as strings.ToLower does; the name_ci
	// and display_ci columns are lowered by Go and the comparison value is
	// too, so every case-insensitive comparison and sort folds the same way.
	Fold: func(sql string) string { return foldFunc + "(" + sql + ")" },
	// Text compares bytes already (the BINARY collation): no Collate.
	Path: func(keys ...string) any {
		p := "$"
		for _, k := range keys {
			p += `."` + k + `"`
		}
		return p
	},
	// json_extract returns JSON true and false as 1 and 0, numbers as
	// numbers: comparisons with bound values work for every kind.
	Extract:      func(doc, kind string) string { return "json_extract(" + doc + ", ?)" },
	TypeOf:       "json_type(r.doc, ?)",
	Elements:     "json_each(r.doc, ?) j",
	PrimaryFirst: `coalesce(json_extract(j.value, '$."primary"'), 0) DESC, j.key`,
	Instr:        "instr",
	Right:        func(x, n string) string { return "substr(" + x + ", -" + n + ")" },
	// The unary + is SQLite's way of keeping a term off the indexes.
	NoIndex: "+",

	// Reads see one snapshot thanks to WAL; writers take the database
	// lock when their transaction starts (BEGIN IMMEDIATE, see Open), so
	// they neither lock rows, nor deadlock, nor serialize Bootstrap.
	ReadTx:       &sql.TxOptions{ReadOnly: true},
	IsUnique:     isUnique,
	IsForeignKey: isForeignKey,
	Doc:          func(doc []byte) any { return doc },
	Greatest:     "max",
	// Writes take turns on one connection and each COMMIT is an fsync
	// (synchronous=FULL): the writes waiting for the connection share
	// one transaction and one COMMIT, each in a savepoint.
	GroupCommit: true,
	// One writer at a time: the counter rows cost no concurrency.
	ResourceCounts: true,
	GroupsOf: `(SELECT json_group_array(json_array(g.id, g.type, g.label) ORDER BY m.group_rid)
		FROM memberships m JOIN resources g ON g.rid = m.group_rid WHERE m.member_rid = r.rid)`,
}
