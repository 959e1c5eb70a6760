package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/runner"
)

const jobUsage = `Usage: roster job <command> [flags]

Commands:
  create   store a job from a JSON or YAML file (--replace updates it)
  list     list the jobs
  show     show a job's definition (secrets hidden) and state
  delete   delete a job with its links, state and log
  run      run one cycle now (--dry-run: plan only, write nothing)
  restart  clear the watermark and run an initial cycle
  test     send the target Entra's Test Connection probes
  logs     read a job's provisioning log

With --server URL (env ROSTER_SERVER) and ROSTER_ADMIN_TOKEN, list, show and
logs read a running Roster's jobs through its admin API; the other commands
run where the data is.

Jobs live in the data directory (--data) or PostgreSQL (--database). Their
target secrets are sealed with the data directory's secret.key, or with
ROSTER_SECRET_KEY (or ROSTER_SECRET_KEY_FILE), which every replica on one
PostgreSQL must share. Run "roster job <command> --help" for its flags;
docs/provisioning.md explains jobs.
`

// jobVars are the flags of the job commands.
type jobVars struct {
	data, database, org string
	server              string
	file                string
	replace, dryRun     bool
	json                bool
	failed              bool
	object, cycle       string
	limit               int
}

// runJob runs `roster job <command>`.
func runJob(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, jobUsage)
		return &usageError{message: "roster job needs a command", hint: `run "roster job --help"`}
	}
	verb := args[0]
	if verb == "--help" || verb == "-h" || verb == "help" {
		fmt.Fprint(stdout, jobUsage)
		return nil
	}
	e := env(getenv)
	v := &jobVars{}
	fs := newFlagSet("job "+verb, "See roster job --help.", stderr)
	fs.StringVar(&v.data, "data", e.str("DATA", "./roster-data"), "data directory (env ROSTER_DATA)")
	fs.StringVar(&v.database, "database", e.str("DATABASE_URL", ""), "PostgreSQL URL instead of --data (env ROSTER_DATABASE_URL)")
	fs.StringVar(&v.org, "org", "", "organization id (default: the only organization)")
	fs.StringVar(&v.server, "server", e.str("SERVER", ""), "URL of a running Roster to read jobs from through its admin API, with ROSTER_ADMIN_TOKEN; list, show and logs only (env ROSTER_SERVER)")
	fs.BoolVar(&v.json, "json", false, "print the result as JSON")
	needsName := true
	switch verb {
	case "create":
		fs.StringVar(&v.file, "file", "", "job definition, JSON or YAML (required)")
		fs.BoolVar(&v.replace, "replace", false, "replace the definition of the job of the same name")
		needsName = false
	case "list":
		needsName = false
	case "run":
		fs.BoolVar(&v.dryRun, "dry-run", false, "compute the plan and print counts and samples; write nothing")
	case "logs":
		fs.BoolVar(&v.failed, "failed", false, "only failures")
		fs.StringVar(&v.object, "object", "", "only entries of this source or target id")
		fs.StringVar(&v.cycle, "cycle", "", "only entries of this cycle")
		fs.IntVar(&v.limit, "limit", 50, "at most this many entries, newest first")
	case "show", "delete", "restart", "test":
	default:
		return &usageError{message: fmt.Sprintf("unknown command %q for roster job", verb), hint: `run "roster job --help" for its commands`}
	}
	name, err := parseJobArgs(fs, args[1:], stderr, needsName)
	if err != nil {
		return err
	}
	if verb == "create" && v.file == "" {
		return &usageError{message: "job create needs --file", hint: "roster job create --file job.yaml"}
	}
	c := &jobCmd{v: v, stdout: stdout, stderr: stderr}
	switch verb {
	case "list", "show", "logs":
		// Reading goes through the admin API's rules, locally or on a
		// running server, so both print the same.
		api, done, err := openAdmin(ctx, &adminVars{server: v.server, data: v.data, database: v.database}, e)
		if err != nil {
			return err
		}
		defer done()
		if v.org == "" {
			if v.org, err = onlyOrg(ctx, api); err != nil {
				return err
			}
		}
		switch verb {
		case "list":
			return c.list(ctx, api)
		case "show":
			return c.show(ctx, api, name)
		}
		return c.logs(ctx, api, name)
	}
	if v.server != "" {
		return &usageError{message: fmt.Sprintf("roster job %s runs where the data is, not through --server", verb),
			hint: "run it on the server's host with --data or --database (and no ROSTER_SERVER); list, show and logs work with --server"}
	}
	if err := c.open(ctx, e); err != nil {
		return err
	}
	defer c.close()
	switch verb {
	case "create":
		return c.create(ctx)
	case "delete":
		return c.delete(ctx, name)
	case "run", "restart":
		return c.run(ctx, name, verb == "restart")
	}
	return c.test(ctx, name)
}

// parseJobArgs parses flags around the one positional argument, the job's
// name.
func parseJobArgs(fs *flag.FlagSet, args []string, stderr io.Writer, needsName bool) (string, error) {
	pos, err := parsePositional(fs, args, stderr)
	if err != nil {
		return "", err
	}
	switch {
	case !needsName && len(pos) == 0:
		return "", nil
	case needsName && len(pos) == 1:
		return pos[0], nil
	case needsName && len(pos) == 0:
		return "", &usageError{message: fmt.Sprintf("roster %s needs the job's name", fs.Name()), hint: `"roster job list" shows the jobs`}
	}
	return "", &usageError{message: fmt.Sprintf("unexpected argument %q", pos[len(pos)-1]), hint: fmt.Sprintf(`run "roster %s --help"`, fs.Name())}
}

// jobCmd is one job command with its store open.
type jobCmd struct {
	v              *jobVars
	stdout, stderr io.Writer
	db             store
	r              *runner.Runner
}

func (c *jobCmd) open(ctx context.Context, e env) error {
	cfg := &Config{}
	if err := cfg.loadSecrets(e); err != nil {
		return err
	}
	if cfg.Database != "" && c.v.database == "" {
		c.v.database = cfg.Database
	}
	key, err := secretKey(cfg.SecretKey, c.v.data, c.v.database)
	if err != nil {
		return err
	}
	sealer, err := provision.NewSealer(key)
	if err != nil {
		return err
	}
	if c.db, err = openStore(ctx, c.v.data, c.v.database, true); err != nil {
		return err
	}
	if c.v.org == "" {
		orgs, err := c.db.ListOrganizations(ctx)
		if err != nil {
			return err
		}
		if len(orgs) != 1 {
			return &usageError{message: fmt.Sprintf("there are %d organizations; say which one", len(orgs)), hint: `add --org <id>; "roster org list" shows the ids`}
		}
		c.v.org = orgs[0].ID
	}
	host, _ := os.Hostname()
	c.r = &runner.Runner{Store: c.db, Sealer: sealer, Engine: &provision.Engine{Store: c.db, Holder: fmt.Sprintf("cli %s pid %d", host, os.Getpid())}}
	return nil
}

func (c *jobCmd) close() {
	if c.db != nil {
		c.db.Close()
	}
}

// secretKey returns the key that seals job secrets: ROSTER_SECRET_KEY (or
// the file ROSTER_SECRET_KEY_FILE names), else, for a data directory, its
// secret.key, created on first use. PostgreSQL has no data directory, and
// its replicas must share one key, so there the variable is required.
func secretKey(configured, data, database string) ([]byte, error) {
	if configured != "" {
		return provision.ParseKey(configured)
	}
	if database != "" {
		return nil, &usageError{message: "provisioning jobs on PostgreSQL need ROSTER_SECRET_KEY (or ROSTER_SECRET_KEY_FILE) to seal their secrets", hint: "make one with: openssl rand -hex 32; give every replica the same"}
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	return provision.LoadOrCreateKey(data)
}

func (c *jobCmd) print(result any, human string) error {
	if c.v.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(result)
	}
	_, err := io.WriteString(c.stdout, human)
	return err
}

func (c *jobCmd) create(ctx context.Context) error {
	f, err := os.Open(c.v.file)
	if err != nil {
		return err
	}
	defer f.Close()
	j, err := provision.LoadJob(f, c.v.file, filepath.Dir(c.v.file))
	if err != nil {
		return err
	}
	rec, err := c.r.Save(ctx, c.v.org, j, c.v.replace)
	if err != nil {
		return err
	}
	verb := "created"
	if !rec.Created.Equal(rec.Updated) {
		verb = "updated"
	}
	view := &manage.Job{ID: rec.ID, Name: rec.Name, Enabled: rec.Enabled, Created: rec.Created, Updated: rec.Updated, Definition: j.Redacted()}
	return c.print(view, fmt.Sprintf("job %s %s (id %s)\nnext: roster job test %s, then roster job run %s --dry-run\n", rec.Name, verb, rec.ID, rec.Name, rec.Name))
}

func (c *jobCmd) list(ctx context.Context, api manage.API) error {
	jobs, err := api.ListJobs(ctx, c.v.org)
	if err != nil {
		return err
	}
	if jobs == nil {
		jobs = []*manage.Job{}
	}
	var rows [][]string
	for _, j := range jobs {
		n := j.State.Counts
		rows = append(rows, []string{j.Name, fmt.Sprint(j.Enabled), lastCycle(j.State),
			fmt.Sprintf("%d created, %d updated, %d disabled, %d deleted, %d failed", n.Created, n.Updated, n.Disabled, n.Deleted, n.Failed)})
	}
	return c.print(jobs, table("NAME\tENABLED\tLAST CYCLE\tLAST COUNTS", rows))
}

func lastCycle(st provision.JobState) string {
	switch {
	case st.Running:
		return "running since " + st.Started.Format(time.RFC3339)
	case st.Finished.IsZero():
		return "never"
	}
	return st.Finished.Format(time.RFC3339)
}

func (c *jobCmd) show(ctx context.Context, api manage.API, name string) error {
	j, err := api.GetJob(ctx, c.v.org, name)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "job %s (id %s), enabled %v, last cycle %s\n", j.Name, j.ID, j.Enabled, lastCycle(j.State))
	keys := make([]string, 0, len(j.Links))
	for k := range j.Links {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %d\n", k, j.Links[k])
	}
	def, _ := json.MarshalIndent(j.Definition, "", "  ")
	fmt.Fprintf(&b, "definition:\n%s\n", def)
	return c.print(j, b.String())
}

func (c *jobCmd) delete(ctx context.Context, name string) error {
	rec, err := c.db.FindJob(ctx, c.v.org, name)
	if err != nil {
		return err
	}
	if err := c.db.DeleteJob(ctx, c.v.org, rec.ID); err != nil {
		return err
	}
	return c.print(map[string]string{"deleted": rec.Name, "id": rec.ID}, fmt.Sprintf("job %s deleted; the target keeps what was provisioned\n", rec.Name))
}

func (c *jobCmd) run(ctx context.Context, name string, restart bool) error {
	p := newProgress(c.stderr)
	sum, err := c.r.Run(ctx, c.v.org, name, runner.RunOptions{DryRun: c.v.dryRun, Restart: restart, Progress: p.update})
	p.finish()
	if err != nil {
		return err
	}
	return c.print(sum, summaryTable(sum))
}

func summaryTable(s *provision.Summary) string {
	kind := "incremental"
	if s.Initial {
		kind = "initial"
	}
	if s.DryRun {
		kind += " (dry run: nothing written)"
	}
	c := s.Counts
	var b strings.Builder
	fmt.Fprintf(&b, "cycle %s, %s, %s\n", s.Cycle, kind, s.Duration.Round(time.Millisecond))
	b.WriteString(table("ACTION\tOBJECTS", [][]string{
		{"created", fmt.Sprint(c.Created)}, {"updated", fmt.Sprint(c.Updated)},
		{"disabled", fmt.Sprint(c.Disabled)}, {"deleted", fmt.Sprint(c.Deleted)},
		{"skipped", fmt.Sprint(c.Skipped)}, {"failed", fmt.Sprint(c.Failed)},
		{"unchanged", fmt.Sprint(s.Unchanged)},
	}))
	for _, a := range []provision.Action{provision.Create, provision.Update, provision.Disable, provision.Delete} {
		for _, smp := range s.Samples[a] {
			v, _ := json.Marshal(smp.Values)
			fmt.Fprintf(&b, "would %s %s %s %s %s\n", strings.ToLower(string(a)), strings.ToLower(string(smp.Kind)), smp.SourceID, smp.TargetID, v)
		}
	}
	if c.Failed > 0 {
		b.WriteString("failures are retried next cycle; see them with: roster job logs NAME --failed\n")
	}
	return b.String()
}

func (c *jobCmd) test(ctx context.Context, name string) error {
	checks, err := c.r.Test(ctx, c.v.org, name)
	if err != nil {
		return err
	}
	var b strings.Builder
	failed := 0
	for _, ch := range checks {
		mark := "ok  "
		if !ch.OK {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(&b, "%s %s: %s\n", mark, ch.Name, ch.Detail)
	}
	if err := c.print(checks, b.String()); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checks))
	}
	return nil
}

func (c *jobCmd) logs(ctx context.Context, api manage.API, name string) error {
	page, err := api.QueryJobLog(ctx, c.v.org, name, manage.JobLogFilter{Failed: c.v.failed, Object: c.v.object, Cycle: c.v.cycle, Limit: c.v.limit})
	if err != nil {
		return err
	}
	return c.printLog(page.Entries)
}

func (c *jobCmd) printLog(entries []*provision.LogEntry) error {
	if entries == nil {
		entries = []*provision.LogEntry{}
	}
	var rows [][]string
	for _, e := range entries {
		detail := e.Error
		if detail == "" && len(e.Steps) > 0 {
			detail = e.Steps[len(e.Steps)-1].Detail
		}
		rows = append(rows, []string{e.Time.Format(time.RFC3339), string(e.Action), string(e.Status), string(e.Kind), e.SourceID, e.TargetID, detail})
	}
	return c.print(entries, table("TIME\tACTION\tSTATUS\tKIND\tSOURCE ID\tTARGET ID\tDETAIL", rows))
}
