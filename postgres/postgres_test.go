package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore/sqltest"
	"github.com/roster-scim/roster/postgres/pgtest"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/storetest"
)

// MustOpen opens the store in a schema of its own, created for the test
// and dropped when it ends, so that tests run in parallel on one database.
// Without a reachable server the test is skipped, or fails under CI.
func MustOpen(tb testing.TB) *DB {
	tb.Helper()
	db, _ := mustOpenURL(tb)
	return db
}

// mustOpenURL is MustOpen that also returns the connection string of the
// test's schema, so that a test can open a second store on it, as a second
// replica would.
func mustOpenURL(tb testing.TB) (*DB, string) {
	tb.Helper()
	u := pgtest.URL(tb)
	db, err := Open(context.Background(), u, scim.NewRegistry())
	if err != nil {
		tb.Fatalf("open %s: %v", redact(u), err)
	}
	// Registered after the schema's cleanup, so it runs first: the pool
	// is closed before the schema is dropped.
	tb.Cleanup(func() { db.Close() })
	return db, u
}

// mustOpenReplica opens another store on the schema at u.
func mustOpenReplica(tb testing.TB, u string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), u, scim.NewRegistry())
	if err != nil {
		tb.Fatalf("open %s: %v", redact(u), err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// redact hides a password in a connection URL for messages.
func redact(u string) string { return pgtest.Redact(u) }

// mustAddTenant stores a new organization with a directory and a key.
func mustAddTenant(tb testing.TB, db *DB, name string) storetest.Tenant {
	return sqltest.AddTenant(tb, db.Store, name)
}

// openStores is the storetest contract for PostgreSQL; keys change through
// their table.
func openStores(t *testing.T) storetest.Stores {
	db := MustOpen(t)
	return sqltest.Stores(t, db, db.Store, func(keyID string, revoked bool, expires *time.Time) error {
		var exp *int64
		if expires != nil {
			n := micros(*expires)
			exp = &n
		}
		_, err := db.pool.Exec(context.Background(), `UPDATE api_keys SET revoked = $1, expires = $2 WHERE id = $3`, revoked, exp, keyID)
		return err
	})
}

func TestStore(t *testing.T) {
	storetest.Run(t, openStores)
}

// TestNULCharacter checks that a value PostgreSQL cannot store, a string
// with U+0000, is refused as an invalid value, not a server error.
func TestNULCharacter(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	ten := mustAddTenant(t, db, "nul")
	_, err := db.Create(ctx, ten.Dir.ID, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": "a\x00b"}}, nil)
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Errorf("userName with NUL: %v, want %s", err, roster.EINVALID)
	}
	_, err = db.Create(ctx, ten.Dir.ID, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": "ok", "title": "a\x00b"}}, nil)
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Errorf("title with NUL: %v, want %s", err, roster.EINVALID)
	}
}

// openProvision is the provisioning suite's contract for PostgreSQL: the
// replica is a second store on the same schema.
func openProvision(t *testing.T) storetest.ProvisionStores {
	db, u := mustOpenURL(t)
	return storetest.ProvisionStores{
		State:   db,
		OrgA:    mustAddTenant(t, db, "Org A").Org.ID,
		OrgB:    mustAddTenant(t, db, "Org B").Org.ID,
		SetNow:  func(now func() time.Time) { db.Now = now },
		Replica: func() provision.StateStore { return mustOpenReplica(t, u) },
	}
}

func TestProvisionStore(t *testing.T) {
	storetest.RunProvision(t, openProvision)
}
