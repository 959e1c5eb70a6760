package postgres

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// sliceRows is an ImportRows over rows held in memory.
type sliceRows struct {
	rows [][]any
	i    int
}

func (r *sliceRows) Next() bool             { r.i++; return r.i <= len(r.rows) }
func (r *sliceRows) Values() ([]any, error) { return r.rows[r.i-1], nil }
func (r *sliceRows) Err() error             { return nil }

func rowsOf(rows ...[]any) *sliceRows { return &sliceRows{rows: rows} }

// importAll copies the given tables' rows in order, then empty rows into
// every other table, and commits.
func importAll(t *testing.T, db *DB, replace bool, tables []importTable) error {
	t.Helper()
	ctx := context.Background()
	im, err := db.BeginImport(ctx, replace)
	if err != nil {
		return err
	}
	defer im.Rollback(ctx)
	given := map[string]bool{}
	for _, tt := range tables {
		given[tt.name] = true
		if _, err := im.Copy(ctx, tt.name, tt.columns, rowsOf(tt.rows...)); err != nil {
			return err
		}
	}
	for _, name := range im.Tables() {
		if !given[name] {
			cols := make([]string, 0)
			for c := range im.tables[name] {
				cols = append(cols, c)
			}
			if _, err := im.Copy(ctx, name, cols, rowsOf()); err != nil {
				return err
			}
		}
	}
	return im.Commit(ctx)
}

type importTable struct {
	name    string
	columns []string
	rows    [][]any
}

var (
	orgCols  = []string{"id", "name", "created"}
	dirCols  = []string{"id", "org_id", "name", "created", "icon", "profile", "capture_bodies"}
	keyCols  = []string{"id", "org_id", "name", "secret_hash", "users_priv", "groups_priv", "created", "expires", "revoked", "description", "last_used"}
	resCols  = []string{"rid", "dir_id", "type", "id", "name_ci", "display_ci", "label", "external_id", "created", "modified", "version", "doc"}
	logTable = importTable{"request_log", []string{"id", "time", "org_id", "directory_id", "credential_kind", "credential_id", "credential_name",
		"method", "route", "resource_type", "resource_id", "summary", "status", "scim_type", "latency", "request_id", "body"},
		[][]any{{int64(41), int64(5), "o1", "d1", "key", "k1", "Entra", "GET", "/v1/scim/{idp}/Users", "User", nil, "list", int64(200), "", int64(900), "r1", nil}}}
)

// sqliteRows are rows as the SQLite export gives them: integers for flags,
// text for JSON, bytes for hashes.
func sqliteRows() []importTable {
	return []importTable{
		{"organizations", orgCols, [][]any{{"o1", "Org", int64(1)}}},
		{"directories", dirCols, [][]any{{"d1", "o1", "Entra", int64(2), "", "generic", int64(1)}}},
		{"api_keys", keyCols, [][]any{{"k1", "o1", "key", []byte{0, 1, 2}, "write", "read", int64(3), nil, int64(1), "", int64(4)}}},
		{"resources", resCols, [][]any{{int64(100), "d1", "User", "u1", "ada", nil, "ada", "ext", int64(5), int64(6), int64(3), `{"userName":"ada","x":1.50}`}}},
		logTable,
		// Provisioning, after request_log so that the indexes above stay.
		{"provision_jobs", []string{"id", "org_id", "name", "definition", "enabled", "created", "updated"},
			[][]any{{"j1", "o1", "entra", `{"b":1, "a":2}`, int64(1), int64(7), int64(8)}}},
		{"provision_state", []string{"job_id", "watermark", "cycle", "running", "started", "finished", "counts"},
			[][]any{{"j1", "w1", "c1", int64(0), int64(9), nil, `{"Created":1}`}}},
		{"provision_links", []string{"job_id", "kind", "source_id", "target_id", "source_hash", "exported", "state", "failures", "error", "retry_at", "cycle"},
			[][]any{{"j1", "User", "s1", "t1", "h1", []byte(`{"z":1, "a":[2]}`), "active", int64(0), "", nil, "c1"}}},
		{"provision_members", []string{"job_id", "group_source_id", "member_source_id"}, [][]any{{"j1", "g1", "s1"}}},
		{"provision_leases", []string{"job_id", "holder", "expires"}, [][]any{{"j1", "r1", int64(10)}}},
		{"provision_log", []string{"id", "job_id", "cycle", "time", "kind", "source_id", "target_id", "action", "status", "steps", "modified", "error"},
			[][]any{{int64(77), "j1", "c1", int64(11), "User", "s1", "t1", "Create", "Success", `[]`, nil, ""}}},
	}
}

func TestImport(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	if err := importAll(t, db, false, sqliteRows()); err != nil {
		t.Fatal(err)
	}
	var capture, revoked bool
	var hash []byte
	var doc string
	if err := db.pool.QueryRow(ctx, `SELECT capture_bodies FROM directories`).Scan(&capture); err != nil || !capture {
		t.Errorf("capture_bodies = %v, %v; want true", capture, err)
	}
	if err := db.pool.QueryRow(ctx, `SELECT revoked, secret_hash FROM api_keys`).Scan(&revoked, &hash); err != nil || !revoked || !bytes.Equal(hash, []byte{0, 1, 2}) {
		t.Errorf("api key: revoked %v, hash %v, %v", revoked, hash, err)
	}
	if err := db.pool.QueryRow(ctx, `SELECT doc->>'x' FROM resources`).Scan(&doc); err != nil || doc != "1.50" {
		t.Errorf("doc.x = %q, %v: JSON numbers must keep their text", doc, err)
	}
	var analyzed bool
	if err := db.pool.QueryRow(ctx, `SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'resources'`).Scan(&analyzed); err != nil || !analyzed {
		t.Errorf("resources analyzed after the import: %v, %v; want true", analyzed, err)
	}
	// Provisioning: flags become booleans, the exported document keeps its
	// bytes, the definition its text.
	var enabled, running bool
	var exported []byte
	var def string
	if err := db.pool.QueryRow(ctx, `SELECT j.enabled, j.definition, s.running, l.exported FROM provision_jobs j
		JOIN provision_state s ON s.job_id = j.id JOIN provision_links l ON l.job_id = j.id`).Scan(&enabled, &def, &running, &exported); err != nil ||
		!enabled || running || def != `{"b":1, "a":2}` || string(exported) != `{"z":1, "a":[2]}` {
		t.Errorf("provisioning rows: enabled %v, definition %s, running %v, exported %s, %v", enabled, def, running, exported, err)
	}
	var logID int64
	if err := db.pool.QueryRow(ctx, `INSERT INTO provision_log (job_id, cycle, time, kind, source_id, target_id, action, status, steps, error)
		VALUES ('j1', 'c2', 12, 'User', 's1', '', 'Update', 'Success', '[]', '') RETURNING id`).Scan(&logID); err != nil || logID != 78 {
		t.Errorf("next provisioning log id = %d, %v; want 78", logID, err)
	}

	// The sequences continue after the copied ids.
	var rid, id int64
	if err := db.pool.QueryRow(ctx, `INSERT INTO resources (dir_id, type, id, name_ci, label, created, modified, version, doc)
		VALUES ('d1', 'User', 'u2', 'bob', 'bob', 0, 0, 1, '{}') RETURNING rid`).Scan(&rid); err != nil || rid != 101 {
		t.Errorf("next rid = %d, %v; want 101", rid, err)
	}
	if err := db.pool.QueryRow(ctx, `INSERT INTO request_log (time, org_id, directory_id, credential_kind, credential_id, credential_name,
		method, route, resource_type, summary, status, scim_type, latency, request_id)
		VALUES (0, 'o1', 'd1', '', '', '', 'GET', '/', '', '', 200, '', 0, 'r2') RETURNING id`).Scan(&id); err != nil || id != 42 {
		t.Errorf("next request log id = %d, %v; want 42", id, err)
	}

	// Not empty any more: refused, and nothing changes.
	err := importAll(t, db, false, sqliteRows()[:1])
	var full *NotEmptyError
	if !errors.As(err, &full) || !strings.Contains(err.Error(), "resources: 2") {
		t.Fatalf("import into a full database: %v", err)
	}

	// Replacing fails halfway: the truncation is undone too.
	bad := sqliteRows()
	bad[3].rows[0][11] = "not json"
	if err := importAll(t, db, true, bad); err == nil || !strings.Contains(err.Error(), "copy resources") {
		t.Fatalf("import of a bad document: %v", err)
	}
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM resources`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("after a failed replace: %d resources, %v; want the 2 from before", n, err)
	}

	// Replacing succeeds.
	if err := importAll(t, db, true, sqliteRows()[:1]); err != nil {
		t.Fatal(err)
	}
	if err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM resources) + (SELECT count(*) FROM request_log)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after replacing: %d rows left, %v", n, err)
	}
}

func TestImportRejects(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		table   importTable
		wantErr string
	}{
		{"unknown table", importTable{"widgets", []string{"id"}, nil}, "table widgets does not exist"},
		{"unknown column", importTable{"organizations", []string{"id", "name", "created", "color"}, nil}, "organizations.color does not exist"},
		{"missing column", importTable{"organizations", []string{"id", "name"}, nil}, "organizations.created is missing"},
		{"bad value", importTable{"organizations", orgCols, [][]any{{"o1", "Org", "yesterday"}}}, "row 1, column created: cannot store string as an integer"},
		{"short row", importTable{"organizations", orgCols, [][]any{{"o1", "Org"}}}, "row 1 has 2 values for 3 columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := db.BeginImport(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			defer im.Rollback(ctx)
			_, err = im.Copy(ctx, tt.table.name, tt.table.columns, rowsOf(tt.table.rows...))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	im, err := db.BeginImport(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Rollback(ctx)
	if _, err := im.Copy(ctx, "organizations", orgCols, rowsOf()); err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err == nil || !strings.Contains(err.Error(), "was not copied") {
		t.Fatalf("commit with tables left out: %v", err)
	}
}
