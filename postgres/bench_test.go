package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/roster-scim/roster/internal/sqlstore"
	"github.com/roster-scim/roster/postgres/pgtest"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/storetest"
)

// The benchmarks are storetest's, shared with SQLite and named as there, so
// that the two stores' results compare side by side; this file only gives
// them PostgreSQL stores. See docs/benchmarks.md.

func BenchmarkCreateUser(b *testing.B)    { storetest.BenchCreateUser(b, openBench) }
func BenchmarkGetByUserName(b *testing.B) { storetest.BenchGetByUserName(b, openBench) }
func BenchmarkPatchUser(b *testing.B)     { storetest.BenchPatchUser(b, openBench) }
func BenchmarkAddMember(b *testing.B)     { storetest.BenchAddMember(b, openBench) }

// benchSync, when set, is the synchronous_commit of the benchmarks'
// sessions: "off" does not wait for the WAL flush of each commit, to
// measure the store's own work apart from the disk's flush latency, as
// SQLite's -bench.sync=normal does.
var benchSync = flag.String("bench.sync", "", "synchronous_commit `mode` for benchmark sessions (default: the server's)")

// templates are schemas each holding one seeded benchmark directory (see
// storetest.Templates); seeding 100,000 users takes about a minute.
var templates storetest.Templates[template]

// template is a seeded schema and the URL of its database; schema is ""
// if seeding failed before creating it.
type template struct{ schema, url string }

// TestMain drops the benchmark templates. A run killed before the end
// leaves them behind, named bench_….
func TestMain(m *testing.M) {
	code := m.Run()
	if err := dropTemplates(); err != nil {
		fmt.Fprintln(os.Stderr, "drop benchmark templates:", err)
	}
	os.Exit(code)
}

func dropTemplates() error {
	ctx := context.Background()
	for _, t := range templates.All() {
		if t.schema == "" {
			continue
		}
		pool, err := pgxpool.New(ctx, t.url)
		if err != nil {
			return err
		}
		_, err = pool.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{t.schema}.Sanitize()+` CASCADE`)
		pool.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// openBench is the storetest.BenchOpen of PostgreSQL: a schema of the
// benchmark's own holding a copy of the template of d, seeded on first use.
func openBench(b *testing.B, d *storetest.BenchDirectory) scim.Store {
	ctx := context.Background()
	u := pgtest.URL(b)
	t := templates.Get(b, d, func() (template, error) {
		t := template{url: u}
		err := t.seed(ctx, u, d)
		return t, err
	})
	if *benchSync != "" {
		// pgx passes parameters it does not know to the server as
		// session settings.
		u = withParam(b, u, "synchronous_commit", *benchSync)
	}
	db, err := Open(ctx, u, scim.NewRegistry())
	if err != nil {
		b.Fatalf("open %s: %v", redact(u), err)
	}
	// Registered after the schema's cleanup, so it runs first.
	b.Cleanup(func() { db.Close() })
	if err := copySchema(ctx, db, t.schema); err != nil {
		b.Fatalf("copy the template of %d users: %v", d.Size, err)
	}
	return db
}

// withParam returns the connection string u with a query parameter set.
func withParam(tb testing.TB, u, key, value string) string {
	p, err := url.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.String()
}

// seed creates the template schema on the database of u and writes d into
// it in one transaction, through the same sqlstore.InsertResource that Create uses.
func (t *template) seed(ctx context.Context, u string, d *storetest.BenchDirectory) error {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		return err
	}
	defer pool.Close()
	schema := "bench_" + hex.EncodeToString(r[:])
	if _, err := pool.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		return err
	}
	t.schema = schema
	p, err := url.Parse(u)
	if err != nil {
		return err
	}
	q := p.Query()
	q.Set("options", "-csearch_path="+schema)
	p.RawQuery = q.Encode()
	db, err := Open(ctx, p.String(), scim.NewRegistry())
	if err != nil {
		return err
	}
	defer db.Close()
	ten := d.Tenant
	if err := db.Bootstrap(ctx, &ten.Bootstrap); err != nil {
		return err
	}
	dir := d.Tenant.Dir.ID
	// The shared insert works on database/sql, as Create does.
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close()
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := range d.Size {
		if _, err := sqlstore.InsertResource(ctx, dialect, tx, dir, d.User(i)); err != nil {
			return err
		}
	}
	grid, err := sqlstore.InsertResource(ctx, dialect, tx, dir, d.Group())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (group_rid, member_rid)
		SELECT $1, rid FROM resources WHERE dir_id = $2 AND type = 'User' ORDER BY rid LIMIT $3`, grid, dir, d.Members); err != nil {
		return err
	}
	return tx.Commit()
}

// copySchema copies every row of the schema from into the store's own,
// freshly migrated and empty schema: each table in foreign-key order, then
// the sequences past the copied keys. It then vacuums and analyzes the
// copies, as autovacuum does soon after such a load, so that the benchmark
// runs with the statistics and visibility map of a live database and no
// autovacuum starts in the middle of it.
func copySchema(ctx context.Context, db *DB, from string) error {
	var tables []string
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		var err error
		if tables, err = tablesInOrder(ctx, tx, from); err != nil {
			return err
		}
		for _, name := range tables {
			if _, err := tx.Exec(ctx, `INSERT INTO `+pgx.Identifier{name}.Sanitize()+
				` SELECT * FROM `+pgx.Identifier{from, name}.Sanitize()); err != nil {
				return fmt.Errorf("copy %s: %w", name, err)
			}
		}
		rows, err := tx.Query(ctx, `SELECT table_name::text, column_name::text FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'`)
		if err != nil {
			return err
		}
		serials, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Table, Column string }])
		if err != nil {
			return err
		}
		for _, s := range serials {
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), max(`+pgx.Identifier{s.Column}.Sanitize()+`))
				FROM `+pgx.Identifier{s.Table}.Sanitize(), pgx.Identifier{s.Table}.Sanitize(), s.Column); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, name := range tables {
		tables[i] = pgx.Identifier{name}.Sanitize()
	}
	_, err = db.pool.Exec(ctx, `VACUUM (ANALYZE) `+strings.Join(tables, ", "))
	return err
}

// tablesInOrder returns the tables of schema, but for the migrations'
// record, each after the tables its foreign keys reference.
func tablesInOrder(ctx context.Context, tx pgx.Tx, schema string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT tablename::text FROM pg_tables
		WHERE schemaname = $1 AND tablename <> 'schema_migrations' ORDER BY tablename`, schema)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT t.relname::text, r.relname::text FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE c.contype = 'f' AND n.nspname = $1`, schema)
	if err != nil {
		return nil, err
	}
	edges, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ From, To string }])
	if err != nil {
		return nil, err
	}
	refs := map[string][]string{}
	for _, e := range edges {
		if e.From != e.To {
			refs[e.From] = append(refs[e.From], e.To)
		}
	}
	var order []string
	done := map[string]bool{}
	for len(order) < len(all) {
		n := len(order)
		for _, t := range all {
			if done[t] {
				continue
			}
			ready := true
			for _, r := range refs[t] {
				ready = ready && done[r]
			}
			if ready {
				order, done[t] = append(order, t), true
			}
		}
		if len(order) == n {
			return nil, fmt.Errorf("foreign keys form a cycle among %v", all)
		}
	}
	return order, nil
}
