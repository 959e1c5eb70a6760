package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/sqlite"
	"github.com/roster-scim/roster/storetest"
)

// TestSameAsSQLite stores the same users and groups in PostgreSQL and in
// SQLite and checks that every filter and sort order below selects the
// same resources in the same order on both, or fails the same way: the
// filter compilers must agree beyond the cases the conformance suite
// spells out.
func TestSameAsSQLite(t *testing.T) {
	ctx := context.Background()
	pg := MustOpen(t)
	lite, err := sqlite.Open(ctx, t.TempDir(), scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	ten := storetest.NewTenant("same")
	dir := ten.Dir.ID
	stores := []scim.Store{pg, lite}
	for _, s := range []roster.AdminStore{pg, lite} {
		b := ten.Bootstrap
		if err := s.Bootstrap(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	clock := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	pg.Now = now
	lite.Now = now

	users := []map[string]any{
		{"userName": "alice", "displayName": "Alice Éclair", "title": "Engineer", "active": true, "externalId": "A1",
			"name":         map[string]any{"familyName": "Zed", "givenName": "Alice"},
			"emails":       []any{map[string]any{"value": "alice@work.example", "type": "work", "primary": true}, map[string]any{"value": "a@home.example", "type": "home"}},
			"phoneNumbers": []any{map[string]any{"value": "+1 555 0100", "type": "work"}},
			EnterpriseURN:  map[string]any{"employeeNumber": "100", "manager": map[string]any{"value": "m1"}}},
		{"userName": "Bob", "title": "engineer", "active": false,
			"name":   map[string]any{"familyName": "éclair"},
			"emails": []any{map[string]any{"value": "BOB@Work.example", "type": "Work"}}},
		{"userName": "carol", "displayName": "ÉCLAIR", "active": true, "externalId": "a1",
			"emails":      []any{map[string]any{"value": "carol@home.example", "type": "home", "primary": false}, map[string]any{"value": "carol@work.example", "type": "work", "primary": true}},
			EnterpriseURN: map[string]any{"employeeNumber": "20", "department": "R&D"}},
		{"userName": "dave_%", "nickName": "", "title": "Manager"},
		{"userName": "Ève", "displayName": "ève", "title": "ÉNGINEER", "emails": []any{map[string]any{"value": "eve@x.example"}}},
	}
	names := map[int]map[string]string{0: {}, 1: {}} // store -> id -> name
	ids := map[int]map[string]string{0: {}, 1: {}}   // store -> name -> id
	rt := pg.reg.ResourceType(scim.UserType)
	for _, body := range users {
		attrs, _, err := scim.Normalize(rt, body)
		if err != nil {
			t.Fatalf("normalize %v: %v", body["userName"], err)
		}
		for i, s := range stores {
			cp, _, _ := scim.Normalize(rt, body)
			r, err := s.Create(ctx, dir, &scim.Resource{Type: scim.UserType, Attrs: cp}, nil)
			if err != nil {
				t.Fatalf("create %v: %v", attrs["userName"], err)
			}
			names[i][r.ID], ids[i][body["userName"].(string)] = body["userName"].(string), r.ID
		}
		clock = clock.Add(time.Hour)
	}
	groups := []struct {
		name    string
		members []string
	}{{"Engineers", []string{"alice", "Bob"}}, {"everyone", []string{"alice", "Bob", "carol", "dave_%", "Ève"}}, {"empty", nil}}
	grt := pg.reg.ResourceType(scim.GroupType)
	for _, g := range groups {
		for i, s := range stores {
			var m []string
			for _, n := range g.members {
				m = append(m, ids[i][n])
			}
			r, err := s.Create(ctx, dir, &scim.Resource{Type: scim.GroupType, Attrs: map[string]any{"displayName": g.name}}, m)
			if err != nil {
				t.Fatal(err)
			}
			names[i][r.ID], ids[i][g.name] = g.name, r.ID
		}
		clock = clock.Add(time.Hour)
	}

	userFilters := []string{
		``, `userName eq "ALICE"`, `userName ne "alice"`, `userName sw "a"`, `userName ew "OB"`, `userName co "_%"`, `userName gt "bob"`, `userName le "carol"`,
		`displayName eq "éclair"`, `displayName co "CLAI"`, `displayName pr`, `not (displayName pr)`, `displayName eq null`, `displayName ne null`,
		`title eq "engineer"`, `title sw "ÉN"`, `title ew "ER"`, `title gt "f"`, `title lt "Z"`, `nickName pr`, `nickName eq ""`,
		`active eq true`, `active eq false`, `active ne true`, `not (active eq true)`, `active pr`,
		`externalId eq "A1"`, `externalId eq "a1"`, `externalId pr`, `externalId sw "A"`,
		`name.familyName eq "ÉCLAIR"`, `name.familyName pr`, `name pr`, `name.givenName co "lic"`,
		`emails pr`, `emails.value eq "BOB@work.EXAMPLE"`, `emails[type eq "work"].value sw "c"`, `emails[type eq "work" and primary eq true]`,
		`emails[not (primary eq true)]`, `emails.primary eq false`, `emails.type eq "work" and active eq true`, `emails[value ew ".example"]`, `emails.display pr`,
		`phoneNumbers.value co "555"`, `phoneNumbers[type eq "work"]`,
		EnterpriseURN + `:employeeNumber eq "20"`, EnterpriseURN + `:employeeNumber gt "100"`, EnterpriseURN + `:manager.value eq "m1"`, EnterpriseURN + `:department eq "r&d"`,
		`groups eq "` + "%s" + `"`, `groups.display eq "engineers"`, `groups[type eq "direct"]`, `groups pr`,
		`meta.created gt "2024-01-01T01:00:00Z"`, `meta.lastModified le "2024-01-01T02:00:00Z"`, `meta.resourceType eq "user"`,
		`id eq "%s"`, `userName eq "alice" or (title pr and not (active eq true))`,
		`userName eq 1`, `active eq "yes"`, `meta.created gt "soon"`, `userName gt null`,
	}
	groupFilters := []string{
		``, `displayName eq "ENGINEERS"`, `displayName sw "e"`, `members eq "%s"`, `members pr`, `not (members pr)`,
		`members.display eq "Alice Éclair"`, `members[type eq "User" and display sw "b"]`, `members.value eq "%s" and displayName co "one"`,
	}
	userSorts := []string{"", "userName", "displayName", "title", "name.familyName", "emails", "emails.value", "emails.type", "meta.created", "meta.lastModified", "active", "externalId",
		"phoneNumbers", EnterpriseURN + ":employeeNumber"}
	groupSorts := []string{"", "displayName", "meta.lastModified", "members", "members.display"}

	compared := 0
	check := func(typ string, filters, sorts []string, rt *scim.ResourceType, probe string) {
		for _, f := range filters {
			for _, sortBy := range sorts {
				for _, desc := range []bool{false, true} {
					var got [2]string
					var errs [2]error
					for i, s := range stores {
						q := scim.ListQuery{StartIndex: 1, Count: 100, WithMembers: true, Descending: desc}
						text := f
						if strings.Contains(text, "%s") {
							text = fmt.Sprintf(text, ids[i][probe])
						}
						if text != "" {
							e, err := scim.ParseFilter(text)
							if err != nil {
								t.Fatalf("parse %s: %v", text, err)
							}
							if q.Filter, err = rt.ResolveFilter(e); err != nil {
								errs[i] = err
								continue
							}
						}
						if sortBy != "" {
							pp, err := scim.ParsePatchPath(sortBy)
							if err != nil {
								t.Fatal(err)
							}
							tg, ok := rt.Lookup(pp.Path)
							if !ok {
								t.Fatalf("sortBy %s names no attribute", sortBy)
							}
							q.SortBy = &tg
						}
						res, err := s.List(ctx, dir, typ, q)
						if err != nil {
							errs[i] = err
							continue
						}
						var list []string
						for _, r := range res.Resources {
							list = append(list, names[i][r.ID])
						}
						got[i] = fmt.Sprintf("%d %q", res.Total, list)
					}
					var e0, e1 *roster.Error
					if errs[0] == nil && errs[1] == nil {
						compared++
					} else {
						t.Logf("%s filter %q: both fail: %v", typ, f, errs[0])
					}
					switch {
					case errs[0] != nil || errs[1] != nil:
						if !errors.As(errs[0], &e0) || !errors.As(errs[1], &e1) || roster.ErrorCode(errs[0]) != roster.ErrorCode(errs[1]) {
							t.Errorf("%s filter %q sortBy %q desc %v: errors differ:\n postgres %v\n sqlite   %v", typ, f, sortBy, desc, errs[0], errs[1])
						}
					case got[0] != got[1]:
						t.Errorf("%s filter %q sortBy %q desc %v:\n postgres %s\n sqlite   %s", typ, f, sortBy, desc, got[0], got[1])
					}
				}
			}
		}
	}
	// The probes name a group (users) and a member (groups) by id.
	check(scim.UserType, userFilters, userSorts, rt, "Engineers")
	check(scim.GroupType, groupFilters, groupSorts, grt, "alice")
	t.Logf("%d lists compared", compared)
}

// EnterpriseURN is the enterprise extension's schema.
const EnterpriseURN = scim.EnterpriseSchema
