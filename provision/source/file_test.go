package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-scim/roster/provision"
)

// writeFile writes content to name in a fresh temporary folder and returns
// its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll reads a source and returns what it emitted.
func readAll(t *testing.T, s provision.Source, since string) ([]provision.Object, provision.ReadResult, error) {
	t.Helper()
	var objs []provision.Object
	res, err := s.Read(context.Background(), since, func(o provision.Object) error {
		objs = append(objs, o)
		return nil
	})
	return objs, res, err
}

func mustFile(t *testing.T, cfg FileConfig) *File {
	t.Helper()
	f, err := NewFile(cfg)
	if err != nil {
		t.Fatalf("NewFile: %v", err)
	}
	return f
}

func mustRead(t *testing.T, s provision.Source) ([]provision.Object, provision.ReadResult) {
	t.Helper()
	objs, res, err := readAll(t, s, "")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return objs, res
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestFileCSV(t *testing.T) {
	dir := t.TempDir()
	content := "\ufeffid,userPrincipalName,givenName,surname,accountEnabled,mobile,proxyAddresses\n" +
		"1001,ada@example.com,Ada,Lovelace,TRUE,,smtp:ada@example.com; smtp:ada.l@example.com\n" +
		"\n" + // blank lines are no rows
		`1002,grace@example.com,Grace,"Hopper, Rear Admiral",no,"+1 555
0100",` + "\n" +
		"1003,alan@example.com,Alan,Turing,,,;\n"
	path := writeFile(t, dir, "users.csv", content)
	f := mustFile(t, FileConfig{Path: path, MultiValued: []string{"proxyAddresses"}})
	objs, res := mustRead(t, f)
	if !res.Full || res.Watermark != sha(content) {
		t.Errorf("result %+v, want Full with the file's SHA-256 %s", res, sha(content))
	}
	want := []provision.Object{
		{Kind: provision.User, ID: "1001", Attrs: map[string]any{
			"id": "1001", "objectId": "1001", "userPrincipalName": "ada@example.com", "givenName": "Ada", "surname": "Lovelace",
			"accountEnabled": true, "proxyAddresses": []any{"smtp:ada@example.com", "smtp:ada.l@example.com"},
		}},
		{Kind: provision.User, ID: "1002", Attrs: map[string]any{
			"id": "1002", "objectId": "1002", "userPrincipalName": "grace@example.com", "givenName": "Grace",
			"surname": "Hopper, Rear Admiral", "accountEnabled": false, "mobile": "+1 555\n0100",
		}},
		{Kind: provision.User, ID: "1003", Attrs: map[string]any{
			"id": "1003", "objectId": "1003", "userPrincipalName": "alan@example.com", "givenName": "Alan", "surname": "Turing",
		}},
	}
	if !reflect.DeepEqual(objs, want) {
		t.Errorf("objects:\n got %v\nwant %v", objs, want)
	}
}

func TestFileJSONL(t *testing.T) {
	dir := t.TempDir()
	content := `{"employeeNumber": 1001, "userPrincipalName": "ada@example.com", "accountEnabled": true, "manager": null, "level": 3, "groups": ["Staff", "Admins"]}

{"employeeNumber": "1002", "objectId": "0f6e", "accountEnabled": "No", "groups": "Staff; Engineering"}
{"employeeNumber": 1003, "accountEnabled": 1}
`
	path := writeFile(t, dir, "users.jsonl", content)
	f := mustFile(t, FileConfig{Path: path, IDColumn: "employeeNumber", GroupsColumn: "groups"})
	objs, res := mustRead(t, f)
	if !res.Full || res.Watermark != sha(content) {
		t.Errorf("result %+v", res)
	}
	want := []provision.Object{
		{Kind: provision.User, ID: "1001", Attrs: map[string]any{
			"employeeNumber": json.Number("1001"), "objectId": "1001", "userPrincipalName": "ada@example.com",
			"accountEnabled": true, "level": json.Number("3"), "groups": []any{"Staff", "Admins"},
		}},
		{Kind: provision.User, ID: "1002", Attrs: map[string]any{
			"employeeNumber": "1002", "objectId": "0f6e", "accountEnabled": false, "groups": "Staff; Engineering",
		}},
		{Kind: provision.User, ID: "1003", Attrs: map[string]any{
			"employeeNumber": json.Number("1003"), "objectId": "1003", "accountEnabled": true,
		}},
		{Kind: provision.Group, ID: "Staff", Attrs: map[string]any{"displayName": "Staff", "objectId": "Staff"}, Members: []string{"1001", "1002"}},
		{Kind: provision.Group, ID: "Admins", Attrs: map[string]any{"displayName": "Admins", "objectId": "Admins"}, Members: []string{"1001"}},
		{Kind: provision.Group, ID: "Engineering", Attrs: map[string]any{"displayName": "Engineering", "objectId": "Engineering"}, Members: []string{"1002"}},
	}
	if !reflect.DeepEqual(objs, want) {
		t.Errorf("objects:\n got %#v\nwant %#v", objs, want)
	}
}

func TestFileGroupsColumnCSV(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "people.txt", "id,Groups\n1,Sales;Staff\n2,\n3,Staff;Staff; Sales \n")
	f := mustFile(t, FileConfig{Path: path, Format: "CSV", GroupsColumn: "Groups"})
	objs, _ := mustRead(t, f)
	if len(objs) != 5 {
		t.Fatalf("%d objects, want 3 users and 2 groups: %v", len(objs), objs)
	}
	if got := objs[0].Attrs["Groups"]; !reflect.DeepEqual(got, []any{"Sales", "Staff"}) {
		t.Errorf("user 1's Groups attribute: %v", got)
	}
	if _, ok := objs[1].Attrs["Groups"]; ok {
		t.Errorf("user 2 has a Groups attribute from an empty cell")
	}
	sales, staff := objs[3], objs[4]
	if sales.ID != "Sales" || !reflect.DeepEqual(sales.Members, []string{"1", "3"}) {
		t.Errorf("Sales: %+v", sales)
	}
	if staff.ID != "Staff" || !reflect.DeepEqual(staff.Members, []string{"1", "3"}) {
		t.Errorf("Staff (listed twice by user 3): %+v", staff)
	}
}

func TestFileGroupsFile(t *testing.T) {
	dir := t.TempDir()
	users := "id,displayName\nu1,Ada\nu2,Grace\n"
	groups := "id,displayName,members,description\n" +
		"g-eng,Engineering,u1;u2;g-ops;u1,People who build\n" +
		"g-ops,Operations,u2,\n" +
		"g-empty,Nobody,,\n"
	upath := writeFile(t, dir, "users.csv", users)
	gpath := writeFile(t, dir, "groups.csv", groups)
	f := mustFile(t, FileConfig{Path: upath, GroupsPath: gpath})
	objs, res := mustRead(t, f)
	if want := sha(sha(users) + "\n" + sha(groups) + "\n"); res.Watermark != want || !res.Full {
		t.Errorf("result %+v, want watermark %s", res, want)
	}
	want := []provision.Object{
		{Kind: provision.User, ID: "u1", Attrs: map[string]any{"id": "u1", "objectId": "u1", "displayName": "Ada"}},
		{Kind: provision.User, ID: "u2", Attrs: map[string]any{"id": "u2", "objectId": "u2", "displayName": "Grace"}},
		{Kind: provision.Group, ID: "g-eng", Attrs: map[string]any{"id": "g-eng", "objectId": "g-eng", "displayName": "Engineering", "description": "People who build"},
			Members: []string{"u1", "u2", "g-ops"}},
		{Kind: provision.Group, ID: "g-ops", Attrs: map[string]any{"id": "g-ops", "objectId": "g-ops", "displayName": "Operations"}, Members: []string{"u2"}},
		{Kind: provision.Group, ID: "g-empty", Attrs: map[string]any{"id": "g-empty", "objectId": "g-empty", "displayName": "Nobody"}},
	}
	if !reflect.DeepEqual(objs, want) {
		t.Errorf("objects:\n got %#v\nwant %#v", objs, want)
	}

	// The same groups as JSON Lines, members as an array.
	jpath := writeFile(t, dir, "groups.jsonl", `{"id": "g-eng", "displayName": "Engineering", "members": ["u1", "g-ops"]}`+"\n")
	f = mustFile(t, FileConfig{Path: upath, GroupsPath: jpath})
	objs, _ = mustRead(t, f)
	if g := objs[2]; g.Kind != provision.Group || !reflect.DeepEqual(g.Members, []string{"u1", "g-ops"}) {
		t.Errorf("group from JSON Lines: %+v", g)
	}
}

func TestFileAccountEnabled(t *testing.T) {
	for _, c := range []struct {
		cell string
		want any // nil: absent
	}{
		{"true", true}, {"True", true}, {"1", true}, {"YES", true}, {" yes ", true},
		{"false", false}, {"FALSE", false}, {"0", false}, {"No", false},
		{"", nil},
	} {
		path := writeFile(t, t.TempDir(), "u.csv", "id,accountEnabled\n1,"+c.cell+"\n")
		objs, _ := mustRead(t, mustFile(t, FileConfig{Path: path}))
		got, ok := objs[0].Attrs["accountEnabled"]
		if c.want == nil && ok || c.want != nil && got != c.want {
			t.Errorf("accountEnabled %q: got %v (present %v), want %v", c.cell, got, ok, c.want)
		}
	}
}

// TestFileErrors checks that every malformed input fails the Read as a
// whole, with the file and line in plain words.
func TestFileErrors(t *testing.T) {
	for _, c := range []struct {
		name, file, content string
		cfg                 FileConfig // Path is filled in
		want                string
	}{
		{"duplicate id", "users.csv", "id,mail\n1001,a\n1002,b\n1001,c\n", FileConfig{},
			`users.csv line 4: duplicate id "1001" (first on line 2)`},
		{"duplicate id after a multi-line row", "users.csv", "id,mail\n1001,\"a\nb\"\n1001,c\n", FileConfig{},
			`users.csv line 4: duplicate id "1001" (first on line 2)`},
		{"empty id", "users.csv", "id,mail\n1001,a\n,b\n", FileConfig{},
			`users.csv line 3: no id: "id" is empty or missing`},
		{"no id column", "users.csv", "ID,mail\n1,a\n", FileConfig{},
			`users.csv has no "id" column: its header names ID, mail`},
		{"no such IDColumn", "users.csv", "id,mail\n1,a\n", FileConfig{IDColumn: "employeeId"},
			`users.csv has no "employeeId" column`},
		{"too few values", "users.csv", "id,mail,city\n1,a,b\n2,a\n", FileConfig{},
			`users.csv line 3: 2 values where the header names 3 columns`},
		{"too many values", "users.csv", "id,mail\n1,a\n2,a,b\n", FileConfig{},
			`users.csv line 3: 3 values where the header names 2 columns`},
		{"bare quote", "users.csv", "id,mail\n1,a\"b\n", FileConfig{},
			`users.csv line 2: bare " in non-quoted-field`},
		{"unterminated quote", "users.csv", "id,mail\n1,a\n2,\"b\n3,c\n", FileConfig{},
			`users.csv line 4: extraneous or missing " in quoted-field (in the row that starts on line 3)`},
		{"bad boolean", "users.csv", "id,accountEnabled\n1,true\n2,maybe\n", FileConfig{},
			`users.csv line 3: accountEnabled: "maybe" is not true/false, 1/0 or yes/no`},
		{"empty file", "users.csv", "", FileConfig{},
			`users.csv is empty: it has no header row`},
		{"unnamed column", "users.csv", "id,,mail\n", FileConfig{},
			`users.csv line 1: column 2 of the header has no name`},
		{"repeated column", "users.csv", "id,mail,mail\n", FileConfig{},
			`users.csv line 1: the header names "mail" twice`},
		{"malformed JSON", "users.jsonl", "{\"id\": 1}\n\n{\"id\": 2,}\n", FileConfig{},
			`users.jsonl line 3: not valid JSON`},
		{"JSON array", "users.jsonl", "{\"id\": 1}\n[1, 2]\n", FileConfig{},
			`users.jsonl line 2: a JSON array where an object is expected`},
		{"two JSON values", "users.jsonl", "{\"id\": 1} {\"id\": 2}\n", FileConfig{},
			`users.jsonl line 1: more than one JSON value on the line`},
		{"JSON without id", "users.jsonl", "{\"id\": 1}\n{\"mail\": \"a\"}\n", FileConfig{},
			`users.jsonl line 2: no id: "id" is empty or missing`},
		{"JSON null id", "users.jsonl", "{\"id\": null}\n", FileConfig{},
			`users.jsonl line 1: no id`},
		{"JSON boolean id", "users.jsonl", "{\"id\": true}\n", FileConfig{},
			`users.jsonl line 1: the id "id" is a JSON boolean, not a string or a number`},
		{"JSON duplicate id, number and string", "users.jsonl", "{\"id\": 7}\n{\"id\": \"7\"}\n", FileConfig{},
			`users.jsonl line 2: duplicate id "7" (first on line 1)`},
		{"JSON groups not a list", "users.jsonl", "{\"id\": 7, \"groups\": {\"a\": 1}}\n", FileConfig{GroupsColumn: "groups"},
			`users.jsonl line 1: groups: a JSON object, where a list or a string is expected`},
		{"JSON accountEnabled not a boolean", "users.jsonl", "{\"id\": 7, \"accountEnabled\": []}\n", FileConfig{},
			`users.jsonl line 1: accountEnabled: a JSON array where true or false is expected`},
		{"no such file", "missing.csv", "", FileConfig{},
			`file source: cannot read `},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := c.cfg
			cfg.Path = filepath.Join(dir, c.file)
			if c.file != "missing.csv" {
				writeFile(t, dir, c.file, c.content)
			}
			f := mustFile(t, cfg)
			_, _, err := readAll(t, f, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Read: %v, want an error containing %q", err, c.want)
			}
			if c.file == "missing.csv" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a missing file's error is not os.ErrNotExist: %v", err)
			}
			if c.file == "missing.csv" && !strings.HasSuffix(err.Error(), "missing.csv: no such file or directory") {
				t.Errorf("missing file: %v", err)
			}
		})
	}
}

func TestFileGroupsFileErrors(t *testing.T) {
	dir := t.TempDir()
	users := writeFile(t, dir, "users.csv", "id\nu1\n")
	for _, c := range []struct{ name, content, want string }{
		{"dup.csv", "id,displayName,members\ng1,A,u1\ng1,B,\n", `dup.csv line 3: duplicate id "g1" (first on line 2)`},
		{"noid.csv", "displayName,members\nA,u1\n", `noid.csv has no "id" column`},
		{"badmembers.jsonl", `{"id": "g1", "members": [true]}` + "\n", `badmembers.jsonl line 1: members: a JSON boolean in the list, where a string is expected`},
	} {
		f := mustFile(t, FileConfig{Path: users, GroupsPath: writeFile(t, dir, c.name, c.content)})
		if _, _, err := readAll(t, f, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestNewFileErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  FileConfig
		want string
	}{
		{FileConfig{}, "file source: no users file given"},
		{FileConfig{Path: "users.xlsx"}, "file source: cannot tell the format of users.xlsx from its extension: name it .csv or .jsonl, or set the format"},
		{FileConfig{Path: "users.csv", Format: "xml"}, `file source: unknown format "xml": use csv or jsonl`},
		{FileConfig{Path: "users.csv", GroupsColumn: "groups", GroupsPath: "groups.csv"},
			"file source: groups come either from a column of the users file or from a groups file, not both"},
		{FileConfig{Path: "users.csv", GroupsPath: "groups.txt"}, "file source: cannot tell the format of groups.txt"},
	} {
		if _, err := NewFile(c.cfg); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("NewFile(%+v): %v, want %q", c.cfg, err, c.want)
		}
	}
	// A groups file without a telling extension takes Format.
	if _, err := NewFile(FileConfig{Path: "users.txt", Format: "jsonl", GroupsPath: "groups.txt"}); err != nil {
		t.Errorf("Format for both files: %v", err)
	}
}

// TestFileEmitError checks that emit's error stops the Read and is
// returned as it is.
func TestFileEmitError(t *testing.T) {
	path := writeFile(t, t.TempDir(), "users.csv", "id\n1\n2\n3\n")
	stop := errors.New("stop")
	n := 0
	_, err := mustFile(t, FileConfig{Path: path}).Read(context.Background(), "", func(provision.Object) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("Read: %v after %d objects, want stop after 2", err, n)
	}
}

// TestFileWatermark checks that the watermark changes with the file and
// ignores since.
func TestFileWatermark(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "users.csv", "id\n1\n")
	f := mustFile(t, FileConfig{Path: path})
	_, first := mustRead(t, f)
	_, again, err := readAll(t, f, first.Watermark)
	if err != nil || again != first {
		t.Errorf("reading again since the watermark: %+v %v, want %+v", again, err, first)
	}
	writeFile(t, dir, "users.csv", "id\n1\n2\n")
	objs, changed := mustRead(t, f)
	if changed.Watermark == first.Watermark || len(objs) != 2 {
		t.Errorf("after a change: %+v with %d objects", changed, len(objs))
	}
}

// TestFileLarge reads a 100,000-row export, the size the streaming design
// is for. Memory is argued in File's doc comment, not asserted here.
func TestFileLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,userPrincipalName,department,groups\n")
	for i := range 100_000 {
		b.WriteString(strings.Join([]string{itoa(i), "user" + itoa(i) + "@example.com", "Dept" + itoa(i%10), "All;Team" + itoa(i%100)}, ","))
		b.WriteString("\n")
	}
	path := writeFile(t, dir, "users.csv", b.String())
	users, groups, members := 0, 0, 0
	_, err := mustFile(t, FileConfig{Path: path, GroupsColumn: "groups"}).Read(context.Background(), "", func(o provision.Object) error {
		if o.Kind == provision.User {
			users++
		} else {
			groups++
			members += len(o.Members)
		}
		return nil
	})
	if err != nil || users != 100_000 || groups != 101 || members != 200_000 {
		t.Errorf("read %d users, %d groups, %d memberships: %v", users, groups, members, err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
