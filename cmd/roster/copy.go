package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/roster-scim/roster/postgres"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/sqlite"
)

const copySynopsis = `Copy a data directory's SQLite database into PostgreSQL: organizations, admins,
API keys, IdP configurations and their settings, OAuth clients, secrets and
tokens, users, groups, memberships and the request log, with the same ids,
versions, timestamps and secret hashes, so that every token keeps working.

The source is opened read-only and must be at this roster's schema version
(run "roster migrate --data DIR" first if it is older). Stop the server on it
first: writes made after the copy starts are not copied.

The target is migrated, then filled in one transaction, and the rows of every
table are counted on both sides before it commits: on any error or difference
nothing is written. A target that already holds data is refused unless
--force is given; --force deletes all of the target's Roster data (TRUNCATE,
in the same transaction, so a failed copy keeps it) and replaces it with the
source's.`

// copyTable is one line of the count table that copy prints.
type copyTable struct {
	Table  string `json:"table"`
	Source int64  `json:"source"`
	Target int64  `json:"target"`
}

// copyResult is what copy prints with --json.
type copyResult struct {
	From     string      `json:"from"`
	To       string      `json:"to"`
	Replaced bool        `json:"replaced"`
	Seconds  float64     `json:"seconds"`
	Tables   []copyTable `json:"tables"`
}

func runCopy(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	e := env(getenv)
	var from, to string
	var force, asJSON bool
	fs := newFlagSet("copy", copySynopsis, stderr)
	fs.StringVar(&from, "from", e.str("DATA", ""), "data directory to copy from (env ROSTER_DATA)")
	fs.StringVar(&to, "to", e.str("DATABASE_URL", ""), "PostgreSQL URL to copy into, postgres://… (env ROSTER_DATABASE_URL, or ROSTER_DATABASE_URL_FILE)")
	fs.BoolVar(&force, "force", false, "replace the target's data if it has any (deletes it, in the copy's transaction)")
	fs.BoolVar(&asJSON, "json", false, "print the row counts as one JSON object")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := fromFile(e, "DATABASE_URL", &to); err != nil {
		return err
	}
	if from == "" {
		return &usageError{message: "copy needs --from, the data directory to copy", hint: "roster copy --from ./roster-data --to postgres://user@host/db"}
	}
	if to == "" {
		return &usageError{message: "copy needs --to, the PostgreSQL database to copy into", hint: "roster copy --from ./roster-data --to postgres://user@host/db (or set ROSTER_DATABASE_URL)"}
	}
	start := time.Now()
	tables, err := copyData(ctx, from, to, force, stderr)
	if err != nil {
		return err
	}
	res := copyResult{From: from, To: redactURL(to), Replaced: force, Seconds: time.Since(start).Seconds(), Tables: tables}
	if asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	var total int64
	for _, t := range tables {
		total += t.Target
	}
	fmt.Fprintf(stdout, "Copied %d rows from %s to %s in %.1fs; the counts match.\n\n", total, res.From, res.To, res.Seconds)
	// Right-aligned, for the numbers; the names are padded to read left-aligned.
	width := len("TABLE")
	for _, t := range tables {
		width = max(width, len(t.Table))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tSOURCE\tTARGET\t\n", width, "TABLE")
	for _, t := range tables {
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t\n", width, t.Table, t.Source, t.Target)
	}
	return tw.Flush()
}

// copyData copies every table from the SQLite database in dir into the
// PostgreSQL database at url in one transaction, and returns the row counts
// of both sides, which it has checked are equal.
func copyData(ctx context.Context, dir, url string, force bool, progress io.Writer) ([]copyTable, error) {
	src, err := sqlite.OpenExport(ctx, dir)
	if errors.Is(err, sqlite.ErrSchemaOutdated) {
		return nil, fmt.Errorf("%w\nhint: run \"roster migrate --data %s\" with this roster first (stop the server on it), then copy again", err, dir)
	} else if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, url, scim.NewRegistry())
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	im, err := dst.BeginImport(ctx, force)
	var full *postgres.NotEmptyError
	if errors.As(err, &full) {
		return nil, fmt.Errorf("%w; nothing was written\nhint: copy into an empty database, or pass --force to delete its data and replace it with the source's", err)
	} else if err != nil {
		return nil, err
	}
	defer im.Rollback(context.WithoutCancel(ctx))
	counts, err := copyTables(ctx, src, im, progress)
	if err != nil {
		return nil, fmt.Errorf("%w\nnothing was written: the copy was rolled back", err)
	}
	return counts, nil
}

// copyTables copies the tables, checks the counts and commits.
func copyTables(ctx context.Context, src *sqlite.Export, im *postgres.Import, progress io.Writer) ([]copyTable, error) {
	if err := sameTables(src.Tables(), im.Tables()); err != nil {
		return nil, err
	}
	copied := map[string]int64{}
	for _, t := range src.Tables() {
		start := time.Now()
		rows, err := src.Rows(ctx, t)
		if err != nil {
			return nil, err
		}
		n, err := im.Copy(ctx, t.Name, t.Columns, rows)
		rows.Close()
		if err != nil {
			return nil, err
		}
		copied[t.Name] = n
		fmt.Fprintf(progress, "copied %s: %d rows in %v\n", t.Name, n, time.Since(start).Round(time.Millisecond))
	}

	var counts []copyTable
	var bad []string
	for _, t := range src.Tables() {
		c := copyTable{Table: t.Name}
		var err error
		if c.Source, err = src.Count(ctx, t.Name); err != nil {
			return nil, err
		}
		if c.Target, err = im.Count(ctx, t.Name); err != nil {
			return nil, err
		}
		if c.Source != c.Target || c.Target != copied[t.Name] {
			bad = append(bad, fmt.Sprintf("%s: %d in the source, %d copied, %d in the target", t.Name, c.Source, copied[t.Name], c.Target))
		}
		counts = append(counts, c)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("the row counts differ: %s", strings.Join(bad, "; "))
	}
	if err := im.Commit(ctx); err != nil {
		return nil, err
	}
	return counts, nil
}

// sameTables checks that the source and the target have the same tables,
// which they do when both were migrated by this roster.
func sameTables(src []sqlite.ExportTable, dst []string) error {
	in := map[string]bool{}
	for _, t := range dst {
		in[t] = true
	}
	var onlySrc []string
	for _, t := range src {
		if !in[t.Name] {
			onlySrc = append(onlySrc, t.Name)
		}
		delete(in, t.Name)
	}
	var onlyDst []string
	for t := range in {
		onlyDst = append(onlyDst, t)
	}
	sort.Strings(onlyDst)
	if len(onlySrc)+len(onlyDst) > 0 {
		return fmt.Errorf("the source and the target have different tables (only in the source: %v; only in the target: %v); they must be at the same schema version", onlySrc, onlyDst)
	}
	return nil
}

// redactURL hides the password of a connection URL, whether in its user
// part or as a password or sslpassword parameter; a key=value connection
// string is not shown at all, since it may hold one.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "the PostgreSQL database"
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}
