package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/sqlite"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// manifestName is the file, in the data directory, where seed leaves what
// measure needs: the tenant, its token, the big group and the sizes.
const manifestName = "scalebench.json"

// manifest describes a seeded data directory.
type manifest struct {
	SCIMPath string `json:"scim_path"`
	DirID    string `json:"dir_id"`
	Token    string `json:"token"`
	GroupID  string `json:"group_id"`
	Users    int    `json:"users"`
	Members  int    `json:"members"`
}

// userName returns the userName of seeded user i: a UPN, as Entra sends.
func userName(i int) string { return fmt.Sprintf("user%07d@contoso.example", i) }

// seedUser returns the attributes of seeded user i in the shape Entra's
// default attribute mappings give a user (what the store keeps: no
// schemas, id or meta).
func seedUser(i int) map[string]any {
	given, family := "Given", fmt.Sprintf("Family%07d", i)
	return map[string]any{
		"userName":    userName(i),
		"externalId":  roster.NewID(), // Entra's objectId
		"active":      true,
		"displayName": given + " " + family,
		"title":       "Engineer",
		"name":        map[string]any{"givenName": given, "familyName": family, "formatted": given + " " + family},
		"emails":      []any{map[string]any{"type": "work", "primary": true, "value": fmt.Sprintf("given.family%07d@contoso.example", i)}},
		"addresses":   []any{map[string]any{"type": "work", "primary": true, "locality": "Redmond", "country": "US"}},
		scim.EnterpriseSchema: map[string]any{
			"employeeNumber": fmt.Sprint(100000 + i),
			"department":     fmt.Sprintf("Department %d", i%50),
			"costCenter":     fmt.Sprintf("CC%03d", i%200),
		},
	}
}

// seedDialect is the part of the sqlite store's dialect that
// sqlstore.InsertResource uses (the store's own is unexported).
var seedDialect = &sqlstore.Dialect{
	Param: func(int) string { return "?" },
	True:  "1", False: "0",
	IsUnique: func(err error) bool {
		var e *msqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	},
	IsForeignKey: func(err error) bool {
		var e *msqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
	Doc:      func(doc []byte) any { return doc },
	Greatest: "max",
}

func runSeed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	data := fs.String("data", "", "data directory to create (must not exist or be empty)")
	users := fs.Int("users", 1_000_000, "users in the directory")
	members := fs.Int("members", 100_000, "members of the big group (the first users)")
	batch := fs.Int("batch", 50_000, "users per transaction")
	fs.Parse(args)
	if *data == "" {
		return errors.New("seed: --data is required")
	}
	if *members > *users {
		return errors.New("seed: --members exceeds --users")
	}
	if ents, err := os.ReadDir(*data); err == nil && len(ents) > 0 {
		return fmt.Errorf("seed: %s is not empty", *data)
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	start := time.Now()

	// The schema and the tenant, as `roster init` makes them.
	db, err := sqlite.Open(ctx, *data, scim.NewRegistry())
	if err != nil {
		return err
	}
	b, token, _ := manage.NewBootstrap()
	if err := db.Bootstrap(ctx, b); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	dir := b.Dir.ID

	// The resources, through the store's own insert, in large
	// transactions on a connection without the flush at each commit
	// (synchronous=OFF): the file is synced once at the end. sqlite.Open
	// above registered the driver's roster_fold function, which the
	// indexes may use.
	path := filepath.Join(*data, sqlite.FileName)
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"+
		"&_pragma=synchronous(OFF)&_pragma=foreign_keys(ON)&_pragma=cache_size(-1000000)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	now := time.Now().UTC().Truncate(time.Microsecond)
	for lo := 0; lo < *users; lo += *batch {
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for i := lo; i < min(lo+*batch, *users); i++ {
			r := &scim.Resource{Type: scim.UserType, ID: roster.NewID(), Attrs: seedUser(i), Created: now, LastModified: now, Version: 1}
			if _, err := sqlstore.InsertResource(ctx, seedDialect, tx, dir, r); err != nil {
				tx.Rollback()
				return fmt.Errorf("user %d: %w", i, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%d users (%v)\n", min(lo+*batch, *users), time.Since(start).Round(time.Second))
	}
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	g := &scim.Resource{Type: scim.GroupType, ID: roster.NewID(), Attrs: map[string]any{"displayName": "All employees"},
		Created: now, LastModified: now, Version: 1}
	grid, err := sqlstore.InsertResource(ctx, seedDialect, tx, dir, g)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (group_rid, member_rid)
		SELECT ?, rid FROM resources WHERE dir_id = ? AND type = 'User' ORDER BY rid LIMIT ?`, grid, dir, *members); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Move the WAL into the database file and sync it, so that the
	// server starts on a checkpointed file, as after a restart.
	if _, err := raw.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return err
	}
	if _, err := raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	if err := raw.Close(); err != nil {
		return err
	}
	m := manifest{SCIMPath: "/v1/scim/" + dir, DirID: dir, Token: token, GroupID: g.ID, Users: *users, Members: *members}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(*data, manifestName), append(mb, '\n'), 0o600); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d users and a group of %d members in %v; %s is %d MB\n", *users, *members,
		time.Since(start).Round(time.Second), sqlite.FileName, st.Size()>>20)
	fmt.Printf("  data directory: %s\n  tenant URL:     http://<host>%s\n  token:          %s\n  big group:      %s\n",
		*data, m.SCIMPath, token, g.ID)
	return nil
}
