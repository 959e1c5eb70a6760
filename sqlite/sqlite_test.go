package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore"
	"github.com/roster-scim/roster/internal/sqlstore/sqltest"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/storetest"
)

// MustOpenDB opens a new database in a temporary directory that is removed
// when the test ends.
func MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	return mustOpenDir(tb, tb.TempDir())
}

// mustOpenDir opens the database of a data directory and closes it when the
// test ends, so that tests may reopen the same directory.
func mustOpenDir(tb testing.TB, dir string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), dir, scim.NewRegistry())
	if err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// mustAddTenant stores a new organization with a directory and a key.
func mustAddTenant(tb testing.TB, db *DB, name string) storetest.Tenant {
	return sqltest.AddTenant(tb, db.Store, name)
}

// openStores is the storetest contract for SQLite; keys change through
// their table.
func openStores(t *testing.T) storetest.Stores {
	db := MustOpenDB(t)
	return sqltest.Stores(t, db, db.Store, func(keyID string, revoked bool, expires *time.Time) error {
		var exp sql.NullInt64
		if expires != nil {
			exp = sql.NullInt64{Int64: micros(*expires), Valid: true}
		}
		_, err := db.write.Exec(`UPDATE api_keys SET revoked = ?, expires = ? WHERE id = ?`, revoked, exp, keyID)
		return err
	})
}

func TestStore(t *testing.T) {
	storetest.Run(t, openStores)
}

// schema returns the names and SQL of every table and index, to compare a
// database before and after reopening.
func schema(tb testing.TB, db *DB) string {
	tb.Helper()
	rows, err := db.read.Query(`SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_schema ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

// TestMigrationsIdempotent opens the same data directory twice: the second
// open must apply nothing and fail on nothing, as on every restart.
func TestMigrationsIdempotent(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir)
	ok, err := db.Initialized(context.Background())
	if err != nil || ok {
		t.Errorf("a new database: Initialized = %v, %v; want false", ok, err)
	}
	before := schema(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir)
	if after := schema(t, db); after != before {
		t.Errorf("reopening changed the schema:\n%s\nwas\n%s", after, before)
	}
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.read.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Errorf("schema_migrations holds %d rows (%v), want one per migration (%d)", n, err, len(files))
	}
}

// TestDurable writes through every table, closes the database and reads it
// all back from a new process's point of view.
func TestDurable(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	db := mustOpenDir(t, dir)
	ten := storetest.NewTenant("durable")
	if err := db.Bootstrap(ctx, &ten.Bootstrap); err != nil {
		t.Fatal(err)
	}
	rt := db.reg.ResourceType(scim.UserType)
	attrs, _, err := scim.Normalize(rt, map[string]any{"userName": "alice", "emails": []any{map[string]any{"value": "alice@x.example", "type": "work"}}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.Create(ctx, ten.Dir.ID, &scim.Resource{Type: scim.UserType, Attrs: attrs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := db.Create(ctx, ten.Dir.ID, &scim.Resource{Type: scim.GroupType, Attrs: map[string]any{"displayName": "eng"}}, []string{u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpenDir(t, dir)
	if _, err := db.Authenticate(ctx, ten.Dir.ID, roster.HashSecret(ten.Secret)); err != nil {
		t.Errorf("Authenticate after reopening: %v", err)
	}
	got, err := db.Get(ctx, ten.Dir.ID, scim.GroupType, g.ID, true)
	if err != nil || len(got.Members) != 1 || got.Members[0].Value != u.ID || got.Version != g.Version {
		t.Errorf("group after reopening: %+v, %v", got, err)
	}
	e, _ := scim.ParseFilter(`emails[type eq "work"].value eq "alice@x.example"`)
	f, err := rt.ResolveFilter(e)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.List(ctx, ten.Dir.ID, scim.UserType, scim.ListQuery{Filter: f, Count: 10})
	if err != nil || res.Total != 1 || res.Resources[0].ID != u.ID || res.Resources[0].String("userName") != "alice" {
		t.Errorf("user after reopening: %+v, %v", res, err)
	}
}

// insertResource writes a new resource as Create does, in tx; the
// benchmarks seed large directories with it.
func insertResource(ctx context.Context, tx *sql.Tx, dir string, r *scim.Resource) (int64, error) {
	return sqlstore.InsertResource(ctx, dialect, tx, dir, r)
}

// openProvision is the provisioning suite's contract for SQLite: the
// replica is a second store on the same file, as a second process would be.
func openProvision(t *testing.T) storetest.ProvisionStores {
	dir := t.TempDir()
	db := mustOpenDir(t, dir)
	return storetest.ProvisionStores{
		State:   db,
		OrgA:    mustAddTenant(t, db, "Org A").Org.ID,
		OrgB:    mustAddTenant(t, db, "Org B").Org.ID,
		SetNow:  func(now func() time.Time) { db.Now = now },
		Replica: func() provision.StateStore { return mustOpenDir(t, dir) },
	}
}

func TestProvisionStore(t *testing.T) {
	storetest.RunProvision(t, openProvision)
}
