package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Export reads a data directory's database table by table, for `roster
// copy`. It opens the file read-only and applies no migrations, so that
// copying never changes the source; all reads run in one read transaction,
// so the tables are a consistent snapshot even if a server is writing.
type Export struct {
	db     *sql.DB
	tx     *sql.Tx
	tables []ExportTable
}

// ExportTable is one table of the source: its name and columns, in the
// order the rows' values come.
type ExportTable struct {
	Name    string
	Columns []string
	// order is the ORDER BY clause: the primary key, else the rowid, so
	// rows come in creation order and the scan needs no sort.
	order string
}

// ErrSchemaOutdated says the source database lacks migrations this binary
// knows; it is wrapped with the names of the missing ones.
var ErrSchemaOutdated = errors.New("the database schema is older than this roster's")

// OpenExport opens the database in dir read-only and checks that its
// schema is exactly the one this binary writes: an older one must be
// migrated first (`roster migrate --data DIR`, which ErrSchemaOutdated
// reports), a newer one belongs to a newer roster.
func OpenExport(ctx context.Context, dir string) (*Export, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no roster database in %s: %w", dir, err)
	}
	// mode=ro opens the file read-only; query_only also refuses writes
	// through the connection, which keeps even a bug from changing it.
	dsn := fileURI(path) + "?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	// The request log's file, read-only on the same (only) connection, so
	// that its table is exported with the others. A data directory from
	// before it existed gets it from `roster migrate`, as it gets any
	// other change of schema.
	// (open refuses a directory without it, once the main file is known
	// to be roster's.)
	if logPath := filepath.Join(dir, LogFileName); fileExists(logPath) {
		if _, err := db.ExecContext(ctx, `ATTACH DATABASE ? AS log`, fileURI(logPath)+"?mode=ro"); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", logPath, err)
		}
	}
	e := &Export{db: db}
	if err := e.open(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

func (e *Export) open(ctx context.Context) error {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	e.tx = tx
	if err := e.checkSchema(ctx); err != nil {
		return err
	}
	var attached int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_database_list WHERE name = 'log'`).Scan(&attached); err != nil {
		return err
	} else if attached == 0 {
		return fmt.Errorf("%w: the request log's database %s is missing beside it (roster migrate creates it)", ErrSchemaOutdated, LogFileName)
	}
	tables, err := e.readTables(ctx)
	if err != nil {
		return err
	}
	e.tables, err = dependencyOrder(ctx, tx, tables)
	return err
}

// checkSchema compares the applied migrations with the embedded ones.
func (e *Export) checkSchema(ctx context.Context) error {
	known, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	applied := map[string]bool{}
	rows, err := e.tx.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("not a roster database (no schema_migrations table): %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		applied[name] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []string
	for _, name := range known {
		if !applied[name] {
			missing = append(missing, strings.TrimPrefix(name, "migrations/"))
		}
		delete(applied, name)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: migrations %s are not applied", ErrSchemaOutdated, strings.Join(missing, ", "))
	}
	if len(applied) > 0 {
		var newer []string
		for name := range applied {
			newer = append(newer, strings.TrimPrefix(name, "migrations/"))
		}
		sort.Strings(newer)
		return fmt.Errorf("the database was migrated by a newer roster (migrations %s are unknown to this one); copy with that version", strings.Join(newer, ", "))
	}
	return nil
}

// readTables lists the data tables (every table but SQLite's own and those
// the schema maintains itself: schema_migrations, and auth_epoch and
// resource_counts, which triggers keep) with their columns in declaration order.
func (e *Export) readTables(ctx context.Context) ([]ExportTable, error) {
	// The request log's tables come after the main file's; names are
	// unique across the two, so unqualified names find them.
	rows, err := e.tx.QueryContext(ctx, `SELECT name FROM (SELECT 0 AS f, rowid AS r, name, type FROM main.sqlite_schema UNION ALL SELECT 1, rowid, name, type FROM log.sqlite_schema)
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT IN ('schema_migrations', 'auth_epoch', 'resource_counts') ORDER BY f, r`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var tables []ExportTable
	for _, name := range names {
		t := ExportTable{Name: name}
		type keyCol struct {
			pos  int
			name string
		}
		var pk []keyCol // the primary key's columns; pos is the place in the key
		rows, err := e.tx.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c keyCol
			if err := rows.Scan(&c.name, &c.pos); err != nil {
				rows.Close()
				return nil, err
			}
			t.Columns = append(t.Columns, c.name)
			if c.pos > 0 {
				pk = append(pk, c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		sort.Slice(pk, func(i, j int) bool { return pk[i].pos < pk[j].pos })
		t.order = "rowid"
		if len(pk) > 0 {
			key := make([]string, len(pk))
			for i, c := range pk {
				key[i] = quoteIdent(c.name)
			}
			t.order = strings.Join(key, ", ")
		}
		tables = append(tables, t)
	}
	return tables, nil
}

// dependencyOrder sorts tables so that each comes after the tables its
// foreign keys reference, keeping the creation order otherwise: a target
// that checks foreign keys row by row then accepts every row.
func dependencyOrder(ctx context.Context, tx *sql.Tx, tables []ExportTable) ([]ExportTable, error) {
	deps := map[string][]string{}
	for _, t := range tables {
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, t.Name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				rows.Close()
				return nil, err
			}
			if ref != t.Name {
				deps[t.Name] = append(deps[t.Name], ref)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var out []ExportTable
	done := map[string]bool{}
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if done[t.Name] {
				continue
			}
			ready := true
			for _, d := range deps[t.Name] {
				ready = ready && done[d]
			}
			if ready {
				out = append(out, t)
				done[t.Name] = true
				progress = true
				break // restart, so the creation order wins among ready tables
			}
		}
		if !progress {
			return nil, errors.New("the foreign keys between tables form a cycle")
		}
	}
	return out, nil
}

// Tables returns the data tables in an order that satisfies their foreign
// keys.
func (e *Export) Tables() []ExportTable { return e.tables }

// Count returns the number of rows in table, in the snapshot being read.
func (e *Export) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	err := e.tx.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)).Scan(&n)
	return n, err
}

// Rows streams the rows of t in primary key (else rowid) order. Values are
// as SQLite stores them: int64, float64, string, []byte or nil; the caller
// converts them to its own column types. Close it before reading another
// table.
func (e *Export) Rows(ctx context.Context, t ExportTable) (*ExportRows, error) {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = quoteIdent(c)
	}
	rows, err := e.tx.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+quoteIdent(t.Name)+` ORDER BY `+t.order)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.Name, err)
	}
	r := &ExportRows{rows: rows, vals: make([]any, len(cols)), ptrs: make([]any, len(cols))}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

// Close ends the read transaction and closes the database.
func (e *Export) Close() error {
	return errors.Join(e.tx.Rollback(), e.db.Close())
}

// ExportRows is a stream of one table's rows. Its methods have the shape
// of pgx's CopyFromSource: Next advances, Values returns the current row
// (valid until the next call to Next), Err the error that ended the rows.
type ExportRows struct {
	rows *sql.Rows
	vals []any
	ptrs []any
	err  error
}

// Next advances to the next row and reports whether there is one.
func (r *ExportRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = err
		return false
	}
	return true
}

// Values returns the current row's values.
func (r *ExportRows) Values() ([]any, error) { return r.vals, nil }

// Err returns the error that stopped Next, if any.
func (r *ExportRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

// Close releases the rows.
func (r *ExportRows) Close() error { return r.rows.Close() }

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
