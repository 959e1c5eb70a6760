package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/scim"
)

// exportFixture is a closed data directory holding one tenant, a user in a
// group, a provisioning job with its state, a link, a membership, a lease
// and a log entry, and the id of the directory.
func exportFixture(t *testing.T) (dir, dirID string) {
	t.Helper()
	dir = t.TempDir()
	db := mustOpenDir(t, dir)
	ten := mustAddTenant(t, db, "acme")
	ctx := context.Background()
	u, err := db.Create(ctx, ten.Dir.ID, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": "ada",
		"emails": []any{map[string]any{"value": "ada@example.com", "primary": true}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Create(ctx, ten.Dir.ID, &scim.Resource{Type: scim.GroupType, Attrs: map[string]any{"displayName": "g"}}, []string{u.ID}); err != nil {
		t.Fatal(err)
	}
	job := &provision.JobRecord{OrgID: ten.Org.ID, Name: "entra", Definition: []byte(`{"source":"csv"}`), Enabled: true}
	for _, err := range []error{
		db.CreateJob(ctx, job),
		db.PutJobState(ctx, job.ID, provision.JobState{Watermark: "w1", Cycle: "c1", Running: true, Started: time.UnixMicro(7)}),
		db.PutLinks(ctx, job.ID, []*provision.Link{{Kind: provision.User, SourceID: "s1", TargetID: "t1", Exported: []byte(`{"a":1}`), State: provision.Active, Cycle: "c1"}}),
		db.ChangeMembers(ctx, job.ID, "g1", []string{"s1"}, nil),
		db.AppendLog(ctx, []*provision.LogEntry{{JobID: job.ID, Cycle: "c1", Kind: provision.User, SourceID: "s1", Action: provision.Create, Status: provision.Success}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := db.AcquireLease(ctx, job.ID, "r1", time.Minute); err != nil || !ok {
		t.Fatalf("AcquireLease: %v, %v", ok, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, ten.Dir.ID
}

func readAll(t *testing.T, e *Export, name string) [][]any {
	t.Helper()
	i := slices.IndexFunc(e.Tables(), func(t ExportTable) bool { return t.Name == name })
	if i < 0 {
		t.Fatalf("no table %s", name)
	}
	rows, err := e.Rows(context.Background(), e.Tables()[i])
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, _ := rows.Values()
		out = append(out, slices.Clone(v))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExport(t *testing.T) {
	dir, dirID := exportFixture(t)
	ctx := context.Background()
	e, err := OpenExport(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	var names []string
	for _, tt := range e.Tables() {
		names = append(names, tt.Name)
	}
	// Every table comes after the tables its foreign keys name.
	want := []string{"organizations", "directories", "api_keys", "directory_keys", "resources", "emails", "memberships",
		"admins", "oauth_clients", "oauth_secrets", "access_tokens",
		"provision_jobs", "provision_state", "provision_links", "provision_members", "provision_leases", "provision_log",
		"request_log"} // from requests.db
	if !slices.Equal(names, want) {
		t.Errorf("tables %v, want %v", names, want)
	}
	if cols := e.Tables()[2].Columns; !slices.Equal(cols, []string{"id", "org_id", "name", "secret_hash", "users_priv", "groups_priv",
		"created", "expires", "revoked", "description", "last_used"}) {
		t.Errorf("api_keys columns %v", cols)
	}

	keys := readAll(t, e, "api_keys")
	if len(keys) != 1 {
		t.Fatalf("api_keys: %v", keys)
	}
	if _, ok := keys[0][3].([]byte); !ok || keys[0][7] != nil || keys[0][8] != int64(0) {
		t.Errorf("api key row %v: want a []byte hash, NULL expires and integer revoked", keys[0])
	}
	res := readAll(t, e, "resources")
	if len(res) != 2 || res[0][0] != int64(1) || res[0][2] != "User" || res[1][1] != dirID || !strings.HasPrefix(fmt.Sprintf("%s", res[1][11]), "{") {
		t.Errorf("resources %v: want the user then the group, in rid order, with the document", res)
	}
	if m := readAll(t, e, "memberships"); len(m) != 1 || m[0][0] != int64(2) || m[0][1] != int64(1) {
		t.Errorf("memberships %v", m)
	}

	// Provisioning: flags are integers, exported documents bytes, unset
	// times NULL; every table has its row.
	if jobs := readAll(t, e, "provision_jobs"); len(jobs) != 1 || jobs[0][3] != `{"source":"csv"}` || jobs[0][4] != int64(1) {
		t.Errorf("provision_jobs %v", jobs)
	}
	if st := readAll(t, e, "provision_state"); len(st) != 1 || st[0][3] != int64(1) || st[0][4] != int64(7) || st[0][5] != nil {
		t.Errorf("provision_state %v", st)
	}
	if l := readAll(t, e, "provision_links"); len(l) != 1 || !bytes.Equal(l[0][5].([]byte), []byte(`{"a":1}`)) || l[0][9] != nil {
		t.Errorf("provision_links %v", l)
	}
	for _, name := range []string{"provision_members", "provision_leases", "provision_log"} {
		if n, err := e.Count(ctx, name); err != nil || n != 1 {
			t.Errorf("%s: %d rows, %v; want 1", name, n, err)
		}
	}

	// The export reads one snapshot: a write made meanwhile is not seen.
	w := mustOpenDir(t, dir)
	mustAddTenant(t, w, "later")
	if n, err := e.Count(ctx, "organizations"); err != nil || n != 1 {
		t.Errorf("organizations in the snapshot: %d, %v; want 1", n, err)
	}
	w.Close()

	// And the export cannot write.
	if _, err := e.tx.ExecContext(ctx, `DELETE FROM organizations`); err == nil {
		t.Error("the export's connection accepted a write")
	}
}

func TestExportLeavesSourceUnchanged(t *testing.T) {
	dir, _ := exportFixture(t)
	path := filepath.Join(dir, FileName)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := OpenExport(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range e.Tables() {
		readAll(t, e, tt.Name)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("reading the export changed the database file")
	}
}

func TestExportSchemaVersion(t *testing.T) {
	ctx := context.Background()
	edit := func(t *testing.T, query string) string {
		dir, _ := exportFixture(t)
		db := mustOpenDir(t, dir)
		if _, err := db.write.ExecContext(ctx, query); err != nil {
			t.Fatal(err)
		}
		db.Close()
		return dir
	}
	t.Run("older", func(t *testing.T) {
		dir := edit(t, `DELETE FROM schema_migrations WHERE name = 'migrations/0004_admin_revocation.sql'`)
		_, err := OpenExport(ctx, dir)
		if !errors.Is(err, ErrSchemaOutdated) || !strings.Contains(err.Error(), "0004_admin_revocation.sql") {
			t.Fatalf("export of an older schema: %v", err)
		}
	})
	t.Run("newer", func(t *testing.T) {
		dir := edit(t, `INSERT INTO schema_migrations (name, applied) VALUES ('migrations/9999_future.sql', 0)`)
		_, err := OpenExport(ctx, dir)
		if err == nil || errors.Is(err, ErrSchemaOutdated) || !strings.Contains(err.Error(), "newer roster") {
			t.Fatalf("export of a newer schema: %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := OpenExport(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no roster database") {
			t.Fatalf("export of an empty directory: %v", err)
		}
	})
}
