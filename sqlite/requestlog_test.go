package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
)

// TestRequestLogQueryPlans checks that the admin's usual queries read an
// index in order, so a page costs the same in a month-long log as in an
// empty one, and that pruning finds old entries by index.
func TestRequestLogQueryPlans(t *testing.T) {
	db := MustOpenDB(t)
	now := time.Now()
	for _, c := range []struct {
		name string
		q    roster.RequestQuery
		use  string
	}{
		{"directory", roster.RequestQuery{OrgID: "o", DirectoryID: "d"}, "INDEX request_log_directory (org_id=? AND directory_id=?)"},
		{"directory since", roster.RequestQuery{OrgID: "o", DirectoryID: "d", Since: now}, "INDEX request_log_directory (org_id=? AND directory_id=? AND time>?)"},
		{"directory page", roster.RequestQuery{OrgID: "o", DirectoryID: "d", Before: 7}, "INDEX request_log_directory (org_id=? AND directory_id=?"},
		{"directory failures", roster.RequestQuery{OrgID: "o", DirectoryID: "d", StatusClass: 4}, "INDEX request_log_directory (org_id=? AND directory_id=?)"},
		{"resource", roster.RequestQuery{OrgID: "o", ResourceID: "u", DirectoryID: "d"}, "INDEX request_log_resource (org_id=? AND resource_id=?)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			query, args, err := dialect.RequestsSQL(c.q)
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(explainOn(t, db.logRead, query, args), "\n")
			t.Logf("%s\n%s", query, plan)
			if !strings.Contains(plan, c.use) {
				t.Errorf("plan does not use %s", c.use)
			}
			if strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("plan sorts instead of reading the index in order")
			}
		})
	}
	plan := strings.Join(explainOn(t, db.logRead, `SELECT id FROM request_log WHERE time < ? LIMIT ?`, []any{1, 1}), "\n")
	if !strings.Contains(plan, "request_log_time") {
		t.Errorf("pruning does not use the time index:\n%s", plan)
	}
}

// TestRequestLogMovesToItsFile: opening a data directory from before
// migration 0008, whose request log is in roster.db, moves the entries
// into requests.db and drops the old table. Entries already moved by an
// earlier, interrupted attempt are not duplicated; entries of a newer
// requests.db whose ids the old log also uses (an old roster.db restored
// beside it) are all kept.
func TestRequestLogMovesToItsFile(t *testing.T) {
	for _, c := range []struct {
		name   string
		before string // what requests.db holds: "none", "moved" (the first two old entries), "other" (two newer ones)
		want   string
	}{
		{"fresh", "none", "[r4 r3 r2 r1 r0]"},
		{"interrupted", "moved", "[r4 r3 r2 r1 r0]"},
		{"restored", "other", "[new1 new0 r4 r3 r2 r1 r0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A path with the characters that end a file name in an
			// SQLite URI unless escaped.
			dataDir := filepath.Join(t.TempDir(), "data #1?x=%41 y")
			if err := os.Mkdir(dataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			db := mustOpenDir(t, dataDir)
			tn := mustAddTenant(t, db, "moving")
			entry := func(id string, micros int64) roster.RequestEntry {
				return roster.RequestEntry{Time: time.UnixMicro(micros).UTC(), OrgID: tn.Org.ID, DirectoryID: tn.Dir.ID,
					CredentialKind: "key", CredentialID: tn.Key.ID, CredentialName: "k", Method: "GET", Route: "/Users", ResourceType: "User",
					Summary: "entry " + id, Status: 200, RequestID: id}
			}
			var old []roster.RequestEntry
			for i := range 5 {
				old = append(old, entry(fmt.Sprint("r", i), int64(1_700_000_000_000_000+i)))
			}
			switch c.before {
			case "moved":
				if err := db.AppendRequests(context.Background(), old[:2]); err != nil {
					t.Fatal(err)
				}
			case "other":
				if err := db.AppendRequests(context.Background(), []roster.RequestEntry{entry("new0", 1_800_000_000_000_000), entry("new1", 1_800_000_000_000_001)}); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			if c.before == "none" {
				if err := os.Remove(filepath.Join(dataDir, LogFileName)); err != nil {
					t.Fatal(err)
				}
			}
			// The old layout: the log in roster.db, 0008 not applied.
			raw, err := sql.Open("sqlite", fileURI(filepath.Join(dataDir, FileName)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(requestLogSchema); err != nil {
				t.Fatal(err)
			}
			for i, e := range old {
				if _, err := raw.Exec(`INSERT INTO request_log (id, time, org_id, directory_id, credential_kind, credential_id, credential_name, method, route,
					resource_type, resource_id, summary, status, scim_type, latency, request_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, '', 0, ?, NULL)`,
					i+1, e.Time.UnixMicro(), e.OrgID, e.DirectoryID, e.CredentialKind, e.CredentialID, e.CredentialName, e.Method, e.Route, e.ResourceType,
					e.Summary, e.Status, e.RequestID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE name = 'migrations/0008_request_log_file.sql'`); err != nil {
				t.Fatal(err)
			}
			raw.Close()

			db = mustOpenDir(t, dataDir)
			got, err := db.QueryRequests(context.Background(), roster.RequestQuery{OrgID: tn.Org.ID})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.RequestID)
			}
			if fmt.Sprint(ids) != c.want {
				t.Errorf("entries after the move: %v, want %s", ids, c.want)
			}
			var n int
			if err := db.read.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'request_log'`).Scan(&n); err != nil || n != 0 {
				t.Errorf("roster.db still has the request_log table (%d, %v)", n, err)
			}
			for _, name := range []string{FileName, LogFileName} {
				if _, err := os.Stat(filepath.Join(dataDir, name)); err != nil {
					t.Errorf("%s is not in the data directory: %v", name, err)
				}
			}
			db.Close()
			e, err := OpenExport(context.Background(), dataDir)
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			defer e.Close()
			if n, err := e.Count(context.Background(), "request_log"); err != nil || fmt.Sprint(n) != fmt.Sprint(len(ids)) {
				t.Errorf("export counts %d request log entries (%v), want %d", n, err, len(ids))
			}
		})
	}
}
