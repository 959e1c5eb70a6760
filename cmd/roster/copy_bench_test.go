package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/postgres/pgtest"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/sqlite"
)

var (
	copyUsers = flag.Int("copy.users", 10_000, "users in the data directory BenchmarkCopy copies")
	copySeed  = flag.String("copy.seed", "", "`directory` to seed BenchmarkCopy's data directory in and keep (default: a temporary one)")
)

// BenchmarkCopy copies a data directory of -copy.users users (with emails),
// one group per 100 users holding them, and one request log entry per user
// into PostgreSQL: the first iteration into the empty schema, the others
// with --force. Rows/s counts every row of every table.
//
//	go test ./cmd/roster -run '^$' -bench Copy -benchtime 3x -copy.users 10000
func BenchmarkCopy(b *testing.B) {
	dir := *copySeed
	if dir == "" {
		dir = b.TempDir()
	}
	u := pgtest.URL(b)
	start := time.Now()
	seedCopy(b, dir, *copyUsers)
	b.Logf("seeded %d users in %v", *copyUsers, time.Since(start).Round(time.Millisecond))
	force := false
	var progress io.Writer = io.Discard
	if testing.Verbose() {
		progress = os.Stderr
	}
	var rows int64
	for b.Loop() {
		tables, err := copyData(context.Background(), dir, u, force, progress)
		if err != nil {
			b.Fatal(err)
		}
		force = true
		rows = 0
		for _, t := range tables {
			rows += t.Target
		}
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// seedCopy writes n users, n/100 groups and n request log entries through
// the store, unless dir already holds a database.
func seedCopy(b *testing.B, dir string, n int) {
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err == nil {
		return
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dir, scim.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	res, err := bootstrap(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	d, err := db.FindDirectory(ctx, res.IdPID)
	if err != nil {
		b.Fatal(err)
	}
	var members []string
	var log []roster.RequestEntry
	for i := range n {
		name := fmt.Sprintf("user%06d@example.com", i)
		r, err := db.Create(ctx, d.ID, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{
			"userName": name, "externalId": fmt.Sprintf("ext-%06d", i), "displayName": fmt.Sprintf("User %d", i), "active": true,
			"name":   map[string]any{"givenName": "User", "familyName": fmt.Sprintf("N%06d", i)},
			"emails": []any{map[string]any{"value": name, "type": "work", "primary": true}},
		}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		members = append(members, r.ID)
		if len(members) == 100 {
			if _, err := db.Create(ctx, d.ID, &scim.Resource{Type: scim.GroupType, Attrs: map[string]any{"displayName": fmt.Sprintf("group %d", i/100)}}, members); err != nil {
				b.Fatal(err)
			}
			members = nil
		}
		log = append(log, roster.RequestEntry{Time: time.Now(), OrgID: res.OrgID, DirectoryID: d.ID, CredentialKind: "key", CredentialID: "k",
			CredentialName: "Entra", Method: "POST", Route: "/v1/scim/{idp}/Users", ResourceType: "User", ResourceID: r.ID,
			Summary: "create", Status: 201, Latency: time.Millisecond, RequestID: fmt.Sprint(i)})
		if len(log) == 1000 {
			if err := db.AppendRequests(ctx, log); err != nil {
				b.Fatal(err)
			}
			log = nil
		}
	}
	if err := db.AppendRequests(ctx, log); err != nil {
		b.Fatal(err)
	}
}
