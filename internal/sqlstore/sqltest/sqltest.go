// Package sqltest holds the test helpers of the stores built on sqlstore:
// the store conformance contract and the query-plan checks.
package sqltest

import (
	"context"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/storetest"
)

// AddTenant stores a new organization with a directory and a key. The
// AdminStore interface creates only the first organization (Bootstrap), and
// tests need a second one for isolation.
func AddTenant(tb testing.TB, s *sqlstore.Store, name string) storetest.Tenant {
	tb.Helper()
	ten := storetest.NewTenant(name)
	if err := sqlstore.AddTenant(context.Background(), s, &ten.Bootstrap); err != nil {
		tb.Fatalf("insert tenant %s: %v", name, err)
	}
	return ten
}

// DB is what a store package's DB offers: the store interfaces, through
// the sqlstore.Store it embeds and its own methods.
type DB interface {
	scim.Store
	roster.AdminStore
	roster.RequestLogStore
}

// Stores is the storetest contract for db, whose embedded store is s:
// tenant A through Bootstrap, tenant B inserted directly, and the clock
// changed through s.Now and keys through setKey.
func Stores(t *testing.T, db DB, s *sqlstore.Store, setKey func(keyID string, revoked bool, expires *time.Time) error) storetest.Stores {
	a := storetest.NewTenant("Org A")
	if err := db.Bootstrap(context.Background(), &a.Bootstrap); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	return storetest.Stores{
		Store:    db,
		Admin:    db,
		Requests: db,
		A:        a,
		B:        AddTenant(t, s, "Org B"),
		SetNow:   func(now func() time.Time) { s.Now = now },
		SetKey:   setKey,
	}
}

// Plan is a resource type, a filter whose List statements must use an
// index, and what every plan must contain: the index lookup that finds the
// matches.
type Plan [3]string

// Plans compiles each filter into the exact statements List runs in
// directory dir, the count and the page, and has check explain and judge
// each.
func Plans(t *testing.T, d *sqlstore.Dialect, reg *scim.Registry, dir string, plans []Plan, check func(t *testing.T, query string, args []any, use string)) {
	for _, c := range plans {
		typ, filter, use := c[0], c[1], c[2]
		t.Run(typ+" "+filter, func(t *testing.T) {
			rt := reg.ResourceType(typ)
			e, err := scim.ParseFilter(filter)
			if err != nil {
				t.Fatal(err)
			}
			q := scim.ListQuery{StartIndex: 1, Count: 100}
			if q.Filter, err = rt.ResolveFilter(e); err != nil {
				t.Fatal(err)
			}
			lq, err := d.ListSQL(rt, dir, q)
			if err != nil {
				t.Fatal(err)
			}
			check(t, lq.Count, lq.CountArgs, use)
			check(t, lq.Page, lq.PageArgs, use)
		})
	}
}

// Unfiltered returns the page statement of an unfiltered list of users,
// what importers walk with startIndex and count, for its plan to be
// checked.
func Unfiltered(t *testing.T, d *sqlstore.Dialect, reg *scim.Registry, dir string) sqlstore.ListSQL {
	lq, err := d.ListSQL(reg.ResourceType(scim.UserType), dir, scim.ListQuery{StartIndex: 101, Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	return lq
}
