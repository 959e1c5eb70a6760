package storetest

import (
	"slices"
	"strings"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// filterCase is a filter with the names of the resources it must match;
// {name} in the filter stands for the id of the resource called name.
type filterCase struct {
	filter string
	want   []string
}

// runFilters checks each case against the named resources of directory A,
// comparing as sets since the default order is tested separately.
func (f *fixture) runFilters(typ string, named map[string]string, cases []filterCase) {
	f.t.Helper()
	var pairs []string
	names := map[string]string{}
	for name, id := range named {
		pairs = append(pairs, "{"+name+"}", id)
		names[id] = name
	}
	expand := strings.NewReplacer(pairs...)
	for _, c := range cases {
		filter := expand.Replace(c.filter)
		var got []string
		for _, id := range f.find(f.A.Dir.ID, typ, filter) {
			name, ok := names[id]
			if !ok {
				name = "foreign " + id
			}
			got = append(got, name)
		}
		slices.Sort(got)
		if want := sorted(c.want...); !slices.Equal(got, want) {
			f.t.Errorf("%s: got %v, want %v", c.filter, got, want)
		}
	}
}

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func testUserFilters(f *fixture) {
	dir := f.A.Dir.ID
	bob := f.create(dir, scim.UserType, `{"userName": "bob", "externalId": "ext-bob", "name": {"familyName": "Smithers"}, "active": false,
		"emails": [{"value": "bob@y.example", "type": "work"}, {"value": "bob@x.example", "type": "home"}],
		"`+enterprise+`": {"employeeNumber": "1002"}}`)
	alice := f.create(dir, scim.UserType, strings.Replace(aliceDoc, `"department"`, `"manager": {"value": "`+bob.ID+`"}, "department"`, 1))
	carol := f.create(dir, scim.UserType, `{"userName": "carol", "title": "Manager", "active": true,
		"emails": [{"value": "Carol@X.example", "type": "other"}], "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}]}`)
	dave := f.user(dir, "Dave")
	eng := f.group(dir, "eng", alice.ID)
	// A look-alike in the other directory must never match.
	f.create(f.B.Dir.ID, scim.UserType, aliceDoc)

	all := []string{"alice", "bob", "carol", "dave"}
	f.runFilters(scim.UserType, map[string]string{"alice": alice.ID, "bob": bob.ID, "carol": carol.ID, "dave": dave.ID, "eng": eng.ID}, []filterCase{
		// Every operator on the case-insensitive userName.
		{`userName eq "alice"`, []string{"alice"}},
		{`userName eq "ALICE"`, []string{"alice"}},
		{`userName ne "alice"`, []string{"bob", "carol", "dave"}},
		{`userName co "A"`, []string{"alice", "carol", "dave"}},
		{`userName sw "a"`, []string{"alice"}},
		{`userName ew "E"`, []string{"alice", "dave"}},
		{`userName ew ""`, all},
		{`userName sw ""`, all},
		{`userName co ""`, all},
		{`userName gt "bob"`, []string{"carol", "dave"}},
		{`userName ge "BOB"`, []string{"bob", "carol", "dave"}},
		{`userName lt "bob"`, []string{"alice"}},
		{`userName le "bob"`, []string{"alice", "bob"}},
		{`userName pr`, all},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob"`, []string{"bob"}},
		{`userName eq "nobody"`, nil},
		// caseExact attributes.
		{`externalId eq "ext-bob"`, []string{"bob"}},
		{`externalId eq "EXT-BOB"`, nil},
		{`externalId co "Alice"`, []string{"alice"}},
		{`externalId co "alice"`, nil},
		{`externalId sw "ext-"`, []string{"alice", "bob"}},
		{`externalId pr`, []string{"alice", "bob"}},
		{`id eq "{alice}"`, []string{"alice"}},
		{`id eq "` + strings.ToUpper(alice.ID) + `"`, nil},
		{`id ne "{alice}"`, []string{"bob", "carol", "dave"}},
		// Attributes of the document, compared case-insensitively.
		{`title eq "engineer"`, []string{"alice"}},
		{`title ne "Engineer"`, []string{"bob", "carol", "dave"}},
		{`title co "NAG"`, []string{"carol"}},
		{`title sw "man"`, []string{"carol"}},
		{`title ew "EER"`, []string{"alice"}},
		{`title gt "F"`, []string{"carol"}},
		{`title le "Engineer"`, []string{"alice"}},
		{`title pr`, []string{"alice", "carol"}},
		{`displayName eq "alice smith"`, []string{"alice"}},
		{`name.familyName sw "Smith"`, []string{"alice", "bob"}},
		{`name.familyName eq "smith"`, []string{"alice"}},
		{`name pr`, []string{"alice", "bob"}},
		{`active eq false`, []string{"bob"}},
		{`active eq "False"`, []string{"bob"}},
		{`active eq true`, []string{"alice", "carol"}},
		{`active pr`, []string{"alice", "bob", "carol"}},
		// Emails and other multi-valued attributes.
		{`emails[type eq "work"].value eq "alice@x.example"`, []string{"alice"}},
		{`emails[type eq "work"].value eq "bob@x.example"`, nil},
		{`emails[type eq "work" and value co "@x"]`, []string{"alice"}},
		{`emails[type eq "WORK"]`, []string{"alice", "bob"}},
		{`emails[not (type eq "work")]`, []string{"alice", "bob", "carol"}},
		{`emails.value eq "CAROL@x.example"`, []string{"carol"}},
		{`emails co "@X.EXAMPLE"`, []string{"alice", "bob", "carol"}},
		{`emails.value ew ".example"`, []string{"alice", "bob", "carol"}},
		{`emails.primary eq true`, []string{"alice"}},
		{`emails pr`, []string{"alice", "bob", "carol"}},
		{`phoneNumbers[type eq "work"].value co "555"`, []string{"carol"}},
		{`groups eq "{eng}"`, []string{"alice"}},
		// A user's groups are direct memberships (RFC 7643 §4.1.2).
		{`groups.type eq "direct"`, []string{"alice"}},
		{`groups[type eq "DIRECT" and value eq "{eng}"]`, []string{"alice"}},
		{`groups.type eq "Group"`, nil},
		{`not (groups.type eq "direct")`, []string{"bob", "carol", "dave"}},
		// The enterprise extension, qualified or not.
		{enterprise + `:employeeNumber eq "1002"`, []string{"bob"}},
		{enterprise + `:employeeNumber pr`, []string{"alice", "bob"}},
		{enterprise + `:department eq "r&d"`, []string{"alice"}},
		{enterprise + `:manager.value eq "{bob}"`, []string{"alice"}},
		{`manager.value eq "{bob}"`, []string{"alice"}},
		// Logic. not() matches resources that lack the attribute.
		{`userName eq "alice" or userName eq "bob"`, []string{"alice", "bob"}},
		{`active eq true and title pr`, []string{"alice", "carol"}},
		{`(userName eq "alice" or userName eq "bob") and active eq false`, []string{"bob"}},
		{`userName eq "alice" or (userName eq "bob" and active eq true)`, []string{"alice"}},
		{`not (userName eq "alice" or userName eq "bob")`, []string{"carol", "dave"}},
		{`not (active eq true)`, []string{"bob", "dave"}},
		{`not (title eq "Engineer")`, []string{"bob", "carol", "dave"}},
		{`not (name.familyName sw "smith")`, []string{"carol", "dave"}},
		{`not (emails pr)`, []string{"dave"}},
		{`not (not (active eq false))`, []string{"bob"}},
		{`not (active eq true) and not (userName eq "dave")`, []string{"bob"}},
		{`meta.resourceType eq "User"`, all},
	})
}

func testGroupFilters(f *fixture) {
	dir := f.A.Dir.ID
	u := f.users(dir, "alice", "bob", "carol")
	eng := f.group(dir, "eng", u[0], u[1])
	ops := f.create(dir, scim.GroupType, `{"displayName": "ops", "externalId": "ops-ext", "members": [{"value": "`+u[2]+`"}]}`)
	all := f.group(dir, "all", eng.ID)
	empty := f.group(dir, "Empty")
	f.group(f.B.Dir.ID, "eng")

	f.runFilters(scim.GroupType, map[string]string{"alice": u[0], "bob": u[1], "carol": u[2],
		"eng": eng.ID, "ops": ops.ID, "all": all.ID, "empty": empty.ID, "ghost": roster.NewID()}, []filterCase{
		{`displayName eq "ENG"`, []string{"eng"}},
		{`displayName sw "e"`, []string{"empty", "eng"}},
		{`displayName co "p"`, []string{"empty", "ops"}},
		{`externalId eq "ops-ext"`, []string{"ops"}},
		// Entra's membership probe: one result or none.
		{`id eq "{eng}" and members eq "{alice}"`, []string{"eng"}},
		{`id eq "{eng}" and members eq "{carol}"`, nil},
		{`id eq "{ops}" and members eq "{ghost}"`, nil},
		{`members eq "{alice}"`, []string{"eng"}},
		{`members.value eq "{eng}"`, []string{"all"}},
		{`members[value eq "{carol}"]`, []string{"ops"}},
		{`members[type eq "Group"]`, []string{"all"}},
		{`members.display eq "bob"`, []string{"eng"}},
		{`members pr`, []string{"all", "eng", "ops"}},
		{`not (members pr)`, []string{"empty"}},
		{`not (members eq "{alice}")`, []string{"all", "empty", "ops"}},
		{`meta.resourceType eq "Group"`, []string{"all", "empty", "eng", "ops"}},
	})
}

// testUnicodeCase checks that attributes that are not caseExact compare and
// sort case-insensitively beyond ASCII, as userName does: "éclair" must
// find "Éclair" wherever the value is stored.
func testUnicodeCase(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	zoe := f.create(dir, scim.UserType, `{"userName": "Zoë", "displayName": "ZOË ÉCLAIR", "title": "Éclair",
		"name": {"familyName": "ÖZTÜRK"}, "addresses": [{"locality": "MÜNCHEN", "type": "work"}],
		"`+enterprise+`": {"department": "ÉTUDES"}}`)
	ana := f.create(dir, scim.UserType, `{"userName": "ana", "title": "éa"}`)
	eve := f.create(dir, scim.UserType, `{"userName": "eve", "title": "ec"}`)
	g := f.group(dir, "Ünits", zoe.ID)
	named := map[string]string{"zoe": zoe.ID, "ana": ana.ID, "eve": eve.ID}
	f.runFilters(scim.UserType, named, []filterCase{
		{`title eq "éclair"`, []string{"zoe"}},
		{`title eq "ÉCLAIR"`, []string{"zoe"}},
		{`title ne "éclair"`, []string{"ana", "eve"}},
		{`title co "CLA"`, []string{"zoe"}},
		{`title sw "écl"`, []string{"zoe"}},
		{`title ew "ÉCLAIR"`, []string{"zoe"}},
		{`name.familyName eq "öztürk"`, []string{"zoe"}},
		{`addresses[locality eq "münchen"]`, []string{"zoe"}},
		{`addresses.locality sw "Mün"`, []string{"zoe"}},
		{enterprise + `:department eq "études"`, []string{"zoe"}},
		{`userName eq "ZOË"`, []string{"zoe"}},
		{`displayName eq "zoë éclair"`, []string{"zoe"}},
	})
	f.runFilters(scim.GroupType, map[string]string{"g": g.ID}, []filterCase{
		{`members.display eq "zoë éclair"`, []string{"g"}},
		{`displayName eq "ÜNITS"`, []string{"g"}},
	})
	// SQLite's lower() would leave "Éb" upper-case, sorting it before "éa".
	f.mustPatch(dir, scim.UserType, zoe.ID, replace("title", "Éb"))
	q := f.query(scim.UserType, "")
	q.SortBy = f.sortBy(scim.UserType, "title")
	var got []string
	for _, r := range f.list(dir, scim.UserType, q).Resources {
		got = append(got, r.String("title"))
	}
	if want := []string{"ec", "éa", "Éb"}; !slices.Equal(got, want) {
		t.Errorf("sortBy title: %v, want %v", got, want)
	}
}

// testTimeFilters runs meta.created and meta.lastModified comparisons, the
// filter of incremental sync, on resources written at known times.
func testTimeFilters(f *fixture) {
	dir := f.A.Dir.ID
	c := f.clock(day(time.January, 1))
	jan := f.user(dir, "jan")
	c.Set(day(time.February, 1))
	feb := f.user(dir, "feb")
	c.Set(day(time.March, 1))
	mar := f.user(dir, "mar")
	named := map[string]string{"jan": jan.ID, "feb": feb.ID, "mar": mar.ID}
	f.runFilters(scim.UserType, named, []filterCase{
		{`meta.lastModified gt "2024-01-15T00:00:00Z"`, []string{"feb", "mar"}},
		{`meta.lastModified ge "2024-02-01T00:00:00Z"`, []string{"feb", "mar"}},
		{`meta.lastModified gt "2024-02-01T00:00:00Z"`, []string{"mar"}},
		{`meta.lastModified lt "2024-02-01T00:00:00Z"`, []string{"jan"}},
		{`meta.lastModified le "2024-02-01T00:00:00Z"`, []string{"jan", "feb"}},
		{`meta.lastModified eq "2024-02-01T00:00:00Z"`, []string{"feb"}},
		{`meta.lastModified eq "2024-02-01T01:00:00+01:00"`, []string{"feb"}},
		{`meta.lastModified ne "2024-02-01T00:00:00Z"`, []string{"jan", "mar"}},
		{`meta.lastModified gt "2024-02-01T00:00:00.000001Z"`, []string{"mar"}},
		{`meta.lastModified gt "2024-01-31T23:59:59.999999Z"`, []string{"feb", "mar"}},
		{`meta.created lt "2024-02-15T00:00:00Z"`, []string{"jan", "feb"}},
	})
	c.Set(day(time.April, 1))
	f.mustPatch(dir, scim.UserType, jan.ID, replace("title", "x"))
	f.runFilters(scim.UserType, named, []filterCase{
		{`meta.lastModified gt "2024-03-15T00:00:00Z"`, []string{"jan"}},
		{`meta.created gt "2024-03-15T00:00:00Z"`, nil},
		{`meta.lastModified gt "2024-01-15T00:00:00Z" and meta.created lt "2024-01-15T00:00:00Z"`, []string{"jan"}},
	})
}

func testInvalidFilter(f *fixture) {
	for _, filter := range []string{`meta.location eq "x"`, `meta.version eq "W/\"1\""`, `schemas eq "x"`} {
		_, err := f.Store.List(f.ctx, f.A.Dir.ID, scim.UserType, f.query(scim.UserType, filter))
		wantError(f.t, filter, err, roster.EINVALID, roster.ScimInvalidFilter)
	}
}

func testSort(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	named := map[string]string{}
	for _, doc := range []string{
		`{"userName": "carol", "name": {"familyName": "Brown"}, "title": "Eng", "emails": [{"value": "b@x.example"}]}`,
		`{"userName": "Alice", "name": {"familyName": "smith"}, "title": "eng",
			"emails": [{"value": "z@x.example"}, {"value": "a@x.example", "primary": true}]}`,
		`{"userName": "bob", "title": "ENG"}`,
		`{"userName": "Dave", "name": {"familyName": "Adams"}, "emails": [{"value": "c@x.example"}]}`,
	} {
		u := f.create(dir, scim.UserType, doc)
		named[u.ID] = u.String("userName")
	}
	for _, c := range []struct {
		sortBy string
		want   []string // ascending
	}{
		{"userName", []string{"Alice", "bob", "carol", "Dave"}},
		// Resources without a value sort last when ascending (RFC 7644
		// §3.4.2.3), and first when descending.
		{"name.familyName", []string{"Dave", "carol", "Alice", "bob"}},
		// Equal values (case-insensitively) keep creation order.
		{"title", []string{"carol", "Alice", "bob", "Dave"}},
		// A multi-valued attribute sorts by its primary value, else its
		// first.
		{"emails", []string{"Alice", "carol", "Dave", "bob"}},
		{"emails.value", []string{"Alice", "carol", "Dave", "bob"}},
		{"meta.created", []string{"carol", "Alice", "bob", "Dave"}},
	} {
		for _, desc := range []bool{false, true} {
			q := f.query(scim.UserType, "")
			q.SortBy, q.Descending = f.sortBy(scim.UserType, c.sortBy), desc
			var got []string
			for _, r := range f.list(dir, scim.UserType, q).Resources {
				got = append(got, named[r.ID])
			}
			want := slices.Clone(c.want)
			if desc {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("sortBy %s descending=%v: %v, want %v", c.sortBy, desc, got, want)
			}
		}
	}

	g1, g2 := f.group(dir, "beta"), f.group(dir, "Alpha")
	q := f.query(scim.GroupType, "")
	q.SortBy = f.sortBy(scim.GroupType, "displayName")
	if got := ids(f.list(dir, scim.GroupType, q).Resources); !slices.Equal(got, []string{g2.ID, g1.ID}) {
		t.Errorf("groups sorted by displayName: %v, want Alpha, beta", got)
	}
}

func testPaging(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	var created []string
	for _, n := range []string{"u3", "u1", "u6", "u0", "u5", "u2", "u4"} {
		created = append(created, f.user(dir, n).ID)
	}
	f.user(dir, "other")
	page := func(filter string, sortBy string, desc bool, start, count int) *scim.ListResult {
		q := f.query(scim.UserType, filter)
		q.StartIndex, q.Count, q.Descending = start, count, desc
		if sortBy != "" {
			q.SortBy = f.sortBy(scim.UserType, sortBy)
		}
		return f.list(dir, scim.UserType, q)
	}
	// Default order is creation order; startIndex is 1-based.
	filter := `userName sw "u"`
	for _, c := range []struct {
		start, count int
		want         []string
	}{
		{1, 3, created[0:3]},
		{4, 3, created[3:6]},
		{7, 3, created[6:]},
		{8, 3, nil},
		{0, 2, created[0:2]},
		{-5, 2, created[0:2]},
		{2, 100, created[1:]},
	} {
		res := page(filter, "", false, c.start, c.count)
		if got := ids(res.Resources); res.Total != 7 || !slices.Equal(got, append([]string{}, c.want...)) {
			t.Errorf("startIndex %d count %d: total %d, %v; want 7, %v", c.start, c.count, res.Total, got, c.want)
		}
	}
	res := page(filter, "", false, 1, 0)
	if res.Total != 7 || len(res.Resources) != 0 {
		t.Errorf("count 0: total %d with %d resources, want 7 and none", res.Total, len(res.Resources))
	}
	if res := page(`userName eq "nobody"`, "", false, 1, 10); res.Total != 0 || len(res.Resources) != 0 {
		t.Errorf("no match: total %d, %d resources", res.Total, len(res.Resources))
	}

	// Pages of a sorted list join up to the whole list, in both orders.
	for _, desc := range []bool{false, true} {
		whole := ids(page(filter, "userName", desc, 1, 100).Resources)
		var joined []string
		for start := 1; start <= 7; start += 2 {
			joined = append(joined, ids(page(filter, "userName", desc, start, 2).Resources)...)
		}
		if len(whole) != 7 || !slices.Equal(joined, whole) {
			t.Errorf("descending=%v: pages of 2 give %v, one page gives %v", desc, joined, whole)
		}
	}
}

func testListMembers(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.user(dir, "alice")
	g := f.group(dir, "eng", u.ID)
	q := f.query(scim.GroupType, "")
	for _, r := range f.list(dir, scim.GroupType, q).Resources {
		if r.Members != nil {
			t.Errorf("List(WithMembers=false) loaded members %v", r.Members)
		}
	}
	q.WithMembers = true
	if rs := f.list(dir, scim.GroupType, q).Resources; len(rs) != 1 || !slices.Equal(memberIDs(rs[0].Members), []string{u.ID}) {
		t.Errorf("List(WithMembers=true) = %v", rs)
	}
	if rs := f.list(dir, scim.UserType, f.query(scim.UserType, "")).Resources; len(rs) != 1 || len(rs[0].Groups) != 1 || rs[0].Groups[0].Value != g.ID {
		t.Errorf("listed user's groups: %v", rs)
	}
	// A listed user's groups are those Get reads, in the same order,
	// whether the page is filtered (a matching query), sorted or neither,
	// and a user in none has an empty list.
	f.group(dir, "ops", u.ID)
	bob := f.user(dir, "bob")
	for _, filter := range []string{"", `userName eq "alice"`, `userName eq "bob"`, "sorted"} {
		var q scim.ListQuery
		if filter == "sorted" {
			q = f.query(scim.UserType, "")
			q.SortBy = f.sortBy(scim.UserType, "userName")
		} else {
			q = f.query(scim.UserType, filter)
		}
		for _, r := range f.list(dir, scim.UserType, q).Resources {
			want := f.get(dir, scim.UserType, r.ID).Groups
			if !slices.Equal(r.Groups, want) || r.Groups == nil {
				t.Errorf("filter %q: listed %s has groups %#v, Get reads %#v", filter, r.ID, r.Groups, want)
			}
			if r.ID == u.ID && len(want) != 2 || r.ID == bob.ID && len(want) != 0 {
				t.Errorf("filter %q: %s is in groups %v", filter, r.ID, want)
			}
		}
	}
}
