// Package sqlstore holds the SQL that Roster's two stores, sqlite and
// postgres, share: the compiler of SCIM filters and sort orders into SQL,
// and Store, the SCIM resource, admin and request log store on
// database/sql. What differs between the databases is a Dialect value, so
// that each store package states its differences in one place and the
// logic exists once.
package sqlstore

import "database/sql"

// Dialect is what one database's SQL needs that the other's does not. It is
// a struct of values rather than an interface so that each store declares
// its dialect as one literal, next to the reasons for each choice.
type Dialect struct {
	// Param returns the placeholder of the nth argument (1-based): ? for
	// SQLite, $n for PostgreSQL.
	Param func(n int) string
	// Prepare lets the store keep the statements it runs on every request
	// (authentication) prepared on the read pool. SQLite compiles a
	// statement for each call otherwise; PostgreSQL stays without, since
	// server-side prepared statements do not survive PgBouncer's
	// transaction pooling.
	Prepare bool
	// True and False are the boolean literals.
	True, False string
	// Fold wraps a text expression so that it lowers it as strings.ToLower
	// lowers the comparison value.
	Fold func(sql string) string
	// Collate wraps a text expression read from a document for a range
	// comparison or a sort, which must compare bytes on both databases;
	// nil leaves it as it is.
	Collate func(sql string) string
	// Path returns the argument that names the value at keys in a JSON
	// document.
	Path func(keys ...string) any
	// Extract reads the value of kind ("text", "bool", "number" or
	// "datetime") at a path in the JSON expression doc. Every ? in it is
	// the path argument; a value of another JSON type reads as NULL or as
	// something the comparison value cannot equal.
	Extract func(doc, kind string) string
	// TypeOf returns the JSON type name ('object', 'array'…) of the value
	// at the path ? in r.doc.
	TypeOf string
	// Elements is the FROM item of the elements of the array at the path ?
	// in r.doc, as rows j with a column value.
	Elements string
	// PrimaryFirst orders the rows of Elements primary element first, then
	// in array order.
	PrimaryFirst string
	// TextArg is appended to a placeholder whose type the database cannot
	// infer from its use.
	TextArg string
	// Instr is the function that returns the 1-based position of its
	// second argument in its first, or 0.
	Instr string
	// Right returns the last n characters of the text x; n is an argument.
	Right func(x, n string) string
	// NoIndex, prefixed to a column, keeps the planner from using an index
	// on it ("" when the dialect does not need the hint; see emailDriven).
	NoIndex string

	// The fields below serve Store rather than the filter compiler.

	// ResourceCounts reads an unfiltered list's total from the
	// resource_counts table, which triggers keep (SQLite's migration
	// 0007), instead of counting the directory's rows. PostgreSQL counts:
	// one counter row per directory would serialize its concurrent
	// writers, which SQLite's single writer does anyway.
	ResourceCounts bool

	// ReadTx are the options of read transactions, which see one snapshot.
	ReadTx *sql.TxOptions
	// ForUpdate, appended to a SELECT in a write transaction, locks the
	// rows read until the transaction ends; "" where a write transaction
	// already excludes other writers.
	ForUpdate string
	// Retryable reports whether a write transaction failed only because
	// another one got in its way, so that running it again can succeed;
	// nil when it cannot happen.
	Retryable func(err error) bool
	// IsUnique reports whether err is a unique constraint violation.
	IsUnique func(err error) bool
	// IsForeignKey reports whether err is a foreign key violation.
	IsForeignKey func(err error) bool
	// KeyShare, appended to a SELECT in a write transaction, keeps the rows
	// read from being deleted until the transaction ends, as a foreign key
	// check would but earlier; "" where writers take turns anyway.
	KeyShare string
	// BadValue turns the database's refusal of a value it cannot store
	// into a SCIM error, and returns other errors as they are; nil when
	// every value can be stored.
	BadValue func(err error) error
	// Doc is a JSON document as the argument the doc column stores.
	Doc func(doc []byte) any
	// Greatest is the function that returns the largest of its arguments.
	Greatest string
	// ByteOrder, appended to a text column in ORDER BY, sorts by bytes.
	ByteOrder string
	// Bootstrap is a statement that Bootstrap's transaction runs first to
	// serialize replicas; "" when there is one writer.
	Bootstrap string
	// NoTimeout is a statement that lifts the statement timeout for the
	// rest of a transaction whose work grows with the data; "" for none.
	NoTimeout string
	// Analyze refreshes the planner's statistics of the resource tables
	// while a new directory grows (statsKeeper); "" where the planner
	// needs none.
	Analyze string
	// GroupCommit runs the write transactions that wait for the writer
	// together, each in a savepoint of one transaction with one COMMIT
	// (groupcommit.go): for a database with one writer connection, where
	// each commit's fsync would otherwise be paid in turn.
	GroupCommit bool
	// GroupsOf is a scalar subquery on the resources row r that returns
	// its groups as JSON text, [[id, type, label], …] in group rid order:
	// a page of users then reads their groups in its own statement, one
	// snapshot with no statement per user. "" reads them one user at a
	// time.
	GroupsOf string
}
