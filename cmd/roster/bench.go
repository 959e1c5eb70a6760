package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/roster-scim/roster/loadgen"
)

const benchSynopsis = `Load any SCIM 2.0 endpoint the way Microsoft Entra ID's provisioning service
does, and report throughput and latency.

The preload creates --users users and --groups groups in Entra's request
shapes and adds --members-per-group members to each group in PATCHes of 10.
Then --concurrency workers run Entra's incremental-cycle mix for --duration:
Test Connection probes, match queries on userName and externalId, creates,
PATCH updates in both of Entra's dialects, disables, group creates, batched
member adds and removes, the membership probe, group reads and deletes. The
report has, per operation and overall, requests per second, p50, p95 and p99
latency and the errors by status; --json prints it as one document.

At the end the run deletes every user and group it created (also after
Ctrl-C, which prints the report so far and exits 1), unless --keep. Its objects
carry a run prefix, so runs never collide. Errors of the server are in the
report, not in the exit code; a wrong URL or token exits 1 before the preload.

Pass the token in ROSTER_BENCH_TOKEN rather than --token: a flag is visible
to every user of the machine in its process list. It is never printed.`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg := loadgen.Config{Progress: stderr}
	var asJSON bool
	fs := newFlagSet("bench", benchSynopsis, stderr)
	fs.StringVar(&cfg.URL, "url", "", "tenant URL of the SCIM endpoint; /Users and /Groups are appended (required)")
	fs.StringVar(&cfg.Token, "token", getenv("ROSTER_BENCH_TOKEN"), "bearer token (env ROSTER_BENCH_TOKEN, preferred)")
	fs.IntVar(&cfg.Users, "users", 1000, "users to preload")
	fs.IntVar(&cfg.Groups, "groups", 10, "groups to preload")
	fs.IntVar(&cfg.MembersPerGroup, "members-per-group", 100, "members to add to each preloaded group (at most --users)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "requests in flight")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long the mix runs")
	fs.BoolVar(&cfg.Keep, "keep", false, "leave the run's users and groups on the server")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the choice of operations and objects (0: a random one, printed)")
	fs.StringVar(&cfg.Prefix, "prefix", "", `run id put into every userName and displayName (default "bench-" and 8 random hex digits)`)
	fs.BoolVar(&asJSON, "json", false, "print the report as one JSON document")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	hint := `run "roster bench --help" for the flags`
	switch {
	case cfg.URL == "":
		return &usageError{message: "bench needs --url, the tenant URL to load", hint: "ROSTER_BENCH_TOKEN=… roster bench --url http://127.0.0.1:8080/v1/scim/<IdP ID>"}
	case !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://"):
		return &usageError{message: fmt.Sprintf("--url %q is not an http:// or https:// URL", cfg.URL), hint: hint}
	case cfg.Token == "":
		return &usageError{message: "bench needs a token", hint: "set ROSTER_BENCH_TOKEN (or pass --token)"}
	case cfg.Users < 1:
		return &usageError{message: "--users must be at least 1", hint: hint}
	case cfg.Groups < 1:
		return &usageError{message: "--groups must be at least 1", hint: hint}
	case cfg.MembersPerGroup < 0:
		return &usageError{message: "--members-per-group must not be negative", hint: hint}
	case cfg.Concurrency < 1:
		return &usageError{message: "--concurrency must be at least 1", hint: hint}
	case cfg.Duration <= 0:
		return &usageError{message: "--duration must be positive", hint: hint}
	}
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = printBench(stdout, rep)
	}
	if err == nil && rep.Interrupted {
		// The report covers what ran; a script must not take it for a
		// whole run.
		err = errors.New("interrupted: the report covers the part of the run before the signal")
	}
	return err
}

// printBench prints a report for people: the preload, the mix per
// operation and overall in an aligned table, and the cleanup.
func printBench(w io.Writer, rep *loadgen.Report) error {
	c := rep.Config
	fmt.Fprintf(w, "roster bench against %s (prefix %s, seed %d)\n\n", rep.Server.URL, c.Prefix, c.Seed)
	p := rep.Preload
	fmt.Fprintf(w, "Preload: %d users, %d groups, %d memberships in %.1fs (%.0f creates/s)\n", p.Users, p.Groups, p.Memberships, p.Seconds, p.CreatesPerS)
	var names []string // in the order they are sent
	for _, name := range []string{"test_connection", "create_user", "create_group", "add_members"} {
		if _, ok := p.Ops[name]; ok {
			names = append(names, name)
		}
	}
	if err := benchTable(w, names, p.Ops, nil, nil); err != nil {
		return err
	}
	o := rep.Overall
	fmt.Fprintf(w, "\nMix: %.1fs, %d workers, %d requests, %.1f requests/s, %d errors\n", o.Seconds, c.Concurrency, o.Count, o.RPS, o.ErrorCount())
	if err := benchTable(w, loadgen.OpNames(), rep.Ops, rep.Weights, &o); err != nil {
		return err
	}
	cl := rep.Cleanup
	switch {
	case cl.Kept:
		fmt.Fprintf(w, "\nKept %d users and %d groups (--keep); their names start with %s.\n", cl.Users, cl.Groups, c.Prefix)
	default:
		fmt.Fprintf(w, "\nCleanup: deleted %d users and %d groups in %.1fs%s\n", cl.Users, cl.Groups, cl.Seconds, errorsText(cl.Errors, ", errors "))
	}
	if rep.Interrupted {
		fmt.Fprintln(w, "Interrupted: the mix was cut short.")
	}
	if rep.Server.Behaved {
		fmt.Fprintln(w, "The server answered every request as expected.")
	} else {
		fmt.Fprintln(w, "The server did not answer every request as expected: see ERRORS (status codes; body = right status, wrong body).")
	}
	return nil
}

func benchTable(w io.Writer, names []string, ops map[string]loadgen.OpReport, weights map[string]int, overall *loadgen.OpReport) error {
	width := len("get_group_excluding_members")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	weight := ""
	if weights != nil {
		weight = "WEIGHT\t"
	}
	fmt.Fprintf(tw, "%-*s\t%sCOUNT\tREQ/S\tP50 MS\tP95 MS\tP99 MS\tMAX MS\t ERRORS\t\n", width, "OPERATION", weight)
	line := func(name string, o loadgen.OpReport, wt string) {
		fmt.Fprintf(tw, "%-*s\t%s%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t %s\t\n", width, name, wt, o.Count, o.RPS, o.P50MS, o.P95MS, o.P99MS, o.MaxMS, errorsText(o.Errors, ""))
	}
	for _, name := range names {
		wt := ""
		if weights != nil {
			wt = strconv.Itoa(weights[name]) + "\t"
		}
		line(name, ops[name], wt)
	}
	if overall != nil {
		wt := ""
		if weights != nil {
			wt = "\t"
		}
		line("overall", *overall, wt)
	}
	return tw.Flush()
}

// errorsText is "-" or "500:3 transport:1", after lead.
func errorsText(errs map[string]int64, lead string) string {
	if len(errs) == 0 {
		if lead != "" {
			return ""
		}
		return "-"
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(lead)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", k, errs[k])
	}
	return b.String()
}
