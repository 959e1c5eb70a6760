package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Import fills the database with another store's data (`roster copy`) in
// one transaction: until Commit nothing is visible, and a failure or
// Rollback leaves the database as it was.
type Import struct {
	tx     pgx.Tx
	tables map[string]map[string]string // table → column → data type
	names  []string                     // the data tables, sorted
	copied map[string]bool
}

// lockTimeout bounds BeginImport's wait for the tables' locks.
const lockTimeout = "30s"

// NotEmptyError is BeginImport's refusal of a database that already holds
// data, with the number of rows in each table that has some.
type NotEmptyError struct {
	Counts []TableCount
}

// TableCount is the number of rows in one table.
type TableCount struct {
	Table string
	Rows  int64
}

func (e *NotEmptyError) Error() string {
	parts := make([]string, len(e.Counts))
	for i, c := range e.Counts {
		parts[i] = fmt.Sprintf("%s: %d", c.Table, c.Rows)
	}
	return "the database already holds data (" + strings.Join(parts, ", ") + ")"
}

// ImportRows is a stream of rows to import; it has the method set of
// pgx.CopyFromSource, so a source store need not import pgx.
type ImportRows interface {
	Next() bool
	Values() ([]any, error)
	Err() error
}

// BeginImport starts the import transaction. It locks every data table
// (every table of the schema but schema_migrations and the trigger-kept
// auth_epoch) against writes until
// the transaction ends, so that a server running on the database waits
// rather than writes in between. Then, if replace is false, it returns a
// *NotEmptyError when any table has a row; if replace is true, it empties
// the tables (TRUNCATE, undone with the transaction). The database must be
// migrated first.
func (db *DB) BeginImport(ctx context.Context, replace bool) (*Import, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	im := &Import{tx: tx, tables: map[string]map[string]string{}, copied: map[string]bool{}}
	if err := im.begin(ctx, replace); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return im, nil
}

func (im *Import) begin(ctx context.Context, replace bool) error {
	// A copy is one COPY per table, which takes as long as the table is
	// large: the default statement timeout would cut it off.
	if _, err := im.tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return err
	}
	rows, err := im.tx.Query(ctx, `
		SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name NOT IN ('schema_migrations', 'auth_epoch')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var table, column, typ string
		if err := rows.Scan(&table, &column, &typ); err != nil {
			rows.Close()
			return err
		}
		if im.tables[table] == nil {
			im.tables[table] = map[string]string{}
			im.names = append(im.names, table)
		}
		im.tables[table][column] = typ
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(im.names) == 0 {
		return errors.New("postgres: the database has no roster tables; migrate it first")
	}
	sort.Strings(im.names)
	idents := make([]string, len(im.names))
	for i, n := range im.names {
		idents[i] = pgx.Identifier{n}.Sanitize()
	}
	list := strings.Join(idents, ", ")
	// EXCLUSIVE mode lets readers in but no writer. A server busy on the
	// tables makes the lock wait; the copy gives up after lockTimeout
	// rather than hang, or queue every request of the server behind it.
	if _, err := im.tx.Exec(ctx, `SET LOCAL lock_timeout = '`+lockTimeout+`'`); err != nil {
		return err
	}
	if _, err := im.tx.Exec(ctx, `LOCK TABLE `+list+` IN EXCLUSIVE MODE`); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
			return fmt.Errorf("postgres: the tables are in use and could not be locked within %s; stop the servers on the database and try again", lockTimeout)
		}
		return err
	}
	if _, err := im.tx.Exec(ctx, `SET LOCAL lock_timeout = 0`); err != nil {
		return err
	}
	if replace {
		_, err := im.tx.Exec(ctx, `TRUNCATE `+list)
		return err
	}
	var full []TableCount
	for _, n := range im.names {
		var has bool
		if err := im.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{n}.Sanitize()+`)`).Scan(&has); err != nil {
			return err
		}
		if has {
			c, err := im.Count(ctx, n)
			if err != nil {
				return err
			}
			full = append(full, TableCount{Table: n, Rows: c})
		}
	}
	if len(full) > 0 {
		return &NotEmptyError{Counts: full}
	}
	return nil
}

// Tables returns the names of the data tables, sorted.
func (im *Import) Tables() []string { return im.names }

// Copy writes rows into table with COPY. The columns must be exactly the
// table's, so that a schema difference between the stores fails the import
// instead of losing a column. Values may come as SQLite stores them:
// integers are turned into booleans for BOOLEAN columns, text into bytes
// for BYTEA and back, and text is passed to JSONB columns as JSON. Tables
// must be copied in an order that satisfies their foreign keys.
func (im *Import) Copy(ctx context.Context, table string, columns []string, rows ImportRows) (int64, error) {
	types, ok := im.tables[table]
	if !ok {
		return 0, fmt.Errorf("postgres: the source's table %s does not exist here", table)
	}
	if im.copied[table] {
		return 0, fmt.Errorf("postgres: table %s is copied twice", table)
	}
	im.copied[table] = true
	conv := make([]func(any) (any, error), len(columns))
	seen := map[string]bool{}
	for i, c := range columns {
		typ, ok := types[c]
		if !ok {
			return 0, fmt.Errorf("postgres: the source's column %s.%s does not exist here", table, c)
		}
		seen[c] = true
		if conv[i], ok = converters[typ]; !ok {
			return 0, fmt.Errorf("postgres: column %s.%s has type %s, which import does not convert to", table, c, typ)
		}
	}
	for c := range types {
		if !seen[c] {
			return 0, fmt.Errorf("postgres: column %s.%s is missing from the source", table, c)
		}
	}
	src := &convertRows{rows: rows, conv: conv, columns: columns}
	n, err := im.tx.CopyFrom(ctx, pgx.Identifier{table}, columns, src)
	if src.err != nil {
		// COPY fails with the conversion error inside its own message;
		// the plain one reads better.
		return n, fmt.Errorf("postgres: copy %s: %w", table, src.err)
	}
	if err != nil {
		return n, fmt.Errorf("postgres: copy %s: %w", table, err)
	}
	return n, nil
}

// Count returns the number of rows in table, as the transaction sees it.
func (im *Import) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	err := im.tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n)
	return n, err
}

// Commit checks that every data table was copied, moves each identity
// sequence (resources.rid, request_log.id, provision_log.id) past the
// largest copied value, so that new rows do not collide with copied ones,
// and commits.
func (im *Import) Commit(ctx context.Context) error {
	for _, n := range im.names {
		if !im.copied[n] {
			return fmt.Errorf("postgres: table %s was not copied", n)
		}
	}
	rows, err := im.tx.Query(ctx, `
		SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name)
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL`)
	if err != nil {
		return err
	}
	type serial struct{ table, column, seq string }
	var serials []serial
	for rows.Next() {
		var s serial
		if err := rows.Scan(&s.table, &s.column, &s.seq); err != nil {
			rows.Close()
			return err
		}
		serials = append(serials, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range serials {
		// setval(seq, max+1, false): the next nextval returns max+1 (1 on
		// an empty table).
		q := fmt.Sprintf(`SELECT setval($1, COALESCE(max(%s), 0) + 1, false) FROM %s`,
			pgx.Identifier{s.column}.Sanitize(), pgx.Identifier{s.table}.Sanitize())
		if _, err := im.tx.Exec(ctx, q, s.seq); err != nil {
			return fmt.Errorf("postgres: reset %s: %w", s.seq, err)
		}
	}
	// Statistics now, rather than when autovacuum gets to the tables: a
	// server started on the copy plans its first queries with them.
	if _, err := im.tx.Exec(ctx, dialect.Analyze); err != nil {
		return fmt.Errorf("postgres: analyze: %w", err)
	}
	return im.tx.Commit(ctx)
}

// Rollback undoes the import. It is safe to call after Commit.
func (im *Import) Rollback(ctx context.Context) error {
	err := im.tx.Rollback(ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

// convertRows converts a source's values to the target columns' types as
// COPY reads them.
type convertRows struct {
	rows    ImportRows
	conv    []func(any) (any, error)
	columns []string
	out     []any
	n       int64
	err     error // the conversion error that ended the copy
}

func (r *convertRows) Next() bool { r.n++; return r.rows.Next() }

func (r *convertRows) Values() ([]any, error) {
	in, err := r.rows.Values()
	if err != nil {
		return nil, err
	}
	if len(in) != len(r.conv) {
		r.err = fmt.Errorf("row %d has %d values for %d columns", r.n, len(in), len(r.conv))
		return nil, r.err
	}
	if r.out == nil {
		r.out = make([]any, len(in))
	}
	for i, v := range in {
		if v == nil {
			r.out[i] = nil
			continue
		}
		if r.out[i], err = r.conv[i](v); err != nil {
			r.err = fmt.Errorf("row %d, column %s: %w", r.n, r.columns[i], err)
			return nil, r.err
		}
	}
	return r.out, nil
}

func (r *convertRows) Err() error { return r.rows.Err() }

// converters turn a source value (never nil) into what pgx encodes as a
// column of the given information_schema data type.
var converters = map[string]func(any) (any, error){
	"boolean": func(v any) (any, error) {
		switch v := v.(type) {
		case bool:
			return v, nil
		case int64:
			return v != 0, nil
		}
		return nil, fmt.Errorf("cannot store %T as a boolean", v)
	},
	"bigint":   toInt,
	"integer":  toInt,
	"smallint": toInt,
	"text": func(v any) (any, error) {
		switch v := v.(type) {
		case string:
			return v, nil
		case []byte:
			return string(v), nil
		}
		return nil, fmt.Errorf("cannot store %T as text", v)
	},
	"bytea": func(v any) (any, error) {
		switch v := v.(type) {
		case []byte:
			return v, nil
		case string:
			return []byte(v), nil
		}
		return nil, fmt.Errorf("cannot store %T as bytes", v)
	},
	// pgx sends a string or []byte to a JSON column as the JSON text itself.
	"jsonb": toJSON,
	"json":  toJSON,
}

func toInt(v any) (any, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case bool:
		if v {
			return int64(1), nil
		}
		return int64(0), nil
	}
	return nil, fmt.Errorf("cannot store %T as an integer", v)
}

func toJSON(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	return nil, fmt.Errorf("cannot store %T as JSON", v)
}
