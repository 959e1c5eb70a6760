// Command compare prints the table of bench/compare.sh: it reads the
// `roster bench --json` reports of each server at each size and round and
// prints, per size and server, the overall and match_username throughput
// and p99, the errors and the operations that failed, each server's ratio to
// Roster on SQLite, Roster's fractions of the ceiling, and the goals.
//
// Usage: go run ./bench/compare [-base roster-sqlite] [-ceiling ceiling] [-peers elimity,scimmy] DIR
//
// DIR holds SIZE/SERVER.rN.json (N = round) and, when bench/matchonly ran
// after the mix, SIZE/SERVER.rN.match.json; the servers are printed in
// the order of -servers, then any others by name. Numbers are the median
// over the rounds; errors are summed over them.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/roster-scim/roster/loadgen"
)

type result struct {
	rounds  int
	cut     int // rounds whose mix did not run (preload cut short by the time limit, or no report)
	preload float64
	loaded  int // users preloaded (median)
	rps     float64
	p99     float64
	matchRP float64
	matchP  float64
	errors  int64
	count   uint64
	failed  map[string]map[string]int64 // op → status → count, over rounds

	alone, aloneP99 float64 // match queries alone (bench/matchonly), median; 0 when not run
}

// matchReport is what bench/matchonly prints.
type matchReport struct {
	Count  int              `json:"count"`
	RPS    float64          `json:"rps"`
	P99MS  float64          `json:"p99_ms"`
	Errors map[string]int64 `json:"errors"`
}

func main() {
	servers := flag.String("servers", "roster-sqlite,roster-postgres,elimity,scimmy,ceiling", "servers in the order to print")
	base := flag.String("base", "roster-sqlite", "server the ratios are relative to")
	ceiling := flag.String("ceiling", "ceiling", "the canned handler")
	peers := flag.String("peers", "elimity,scimmy", "the other SCIM servers, for the goals")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: compare [flags] DIR")
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), strings.Split(*servers, ","), *base, *ceiling, strings.Split(*peers, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, dir string, order []string, base, ceiling string, peers []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var sizes []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			sizes = append(sizes, n)
		}
	}
	sort.Ints(sizes)
	if len(sizes) == 0 {
		return fmt.Errorf("%s holds no SIZE directories", dir)
	}
	all := map[int]map[string]*result{}
	for _, size := range sizes {
		res, err := load(filepath.Join(dir, strconv.Itoa(size)))
		if err != nil {
			return err
		}
		all[size] = res
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "USERS\tSERVER\tPRELOAD/S\tREQ/S\tx SQLITE\tP99 MS\tMATCH REQ/S\tx SQLITE\tMATCH P99\tERRORS\tERR %\tMATCH ALONE\tx SQLITE\tALONE P99\t")
	for _, size := range sizes {
		res := all[size]
		b := res[base]
		for _, name := range names(res, order) {
			r := res[name]
			if r.cut == r.rounds {
				fmt.Fprintf(tw, "%d\t%s\t%.0f\t%s\t\t\t\t\t\t\t\t\t\t\t\n", size, name, r.preload, fmt.Sprintf("preload cut at %d users", r.loaded))
				continue
			}
			errPct := 0.0
			if r.count > 0 {
				errPct = 100 * float64(r.errors) / float64(r.count)
			}
			alone, aloneX, aloneP := "-", "-", "-"
			if r.alone > 0 {
				alone, aloneX, aloneP = fmt.Sprintf("%.0f", r.alone), ratio(r.alone, b, func(x *result) float64 { return x.alone }), fmt.Sprintf("%.1f", r.aloneP99)
			}
			fmt.Fprintf(tw, "%d\t%s\t%.0f\t%.0f\t%s\t%.1f\t%.0f\t%s\t%.1f\t%d\t%.1f\t%s\t%s\t%s\t\n", size, name, r.preload,
				r.rps, ratio(r.rps, b, func(x *result) float64 { return x.rps }), r.p99,
				r.matchRP, ratio(r.matchRP, b, func(x *result) float64 { return x.matchRP }), r.matchP, r.errors, errPct,
				alone, aloneX, aloneP)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nFailed operations (errors by status over all rounds; transport = no HTTP response, body = right status, wrong body):")
	anyFailed := false
	for _, size := range sizes {
		res := all[size]
		for _, name := range names(res, order) {
			r := res[name]
			if len(r.failed) == 0 {
				continue
			}
			anyFailed = true
			ops := make([]string, 0, len(r.failed))
			for op := range r.failed {
				ops = append(ops, op)
			}
			sort.Strings(ops)
			var parts []string
			for _, op := range ops {
				parts = append(parts, op+" "+statuses(r.failed[op]))
			}
			fmt.Fprintf(w, "  %d %s: %s\n", size, name, strings.Join(parts, "; "))
		}
	}
	if !anyFailed {
		fmt.Fprintln(w, "  none")
	}

	fmt.Fprintln(w, "\nRoster against the ceiling (same load generator, same machine):")
	for _, size := range sizes {
		res := all[size]
		c := res[ceiling]
		if c == nil || c.cut == c.rounds {
			continue
		}
		for _, name := range names(res, order) {
			if !strings.HasPrefix(name, "roster") {
				continue
			}
			r := res[name]
			if r.cut == r.rounds {
				continue
			}
			fmt.Fprintf(w, "  %d users, %s: match_username %.0f%% of the ceiling's req/s in the mix", size, name, 100*r.matchRP/c.matchRP)
			if r.alone > 0 && c.alone > 0 {
				fmt.Fprintf(w, ", %.0f%% alone", 100*r.alone/c.alone)
			}
			fmt.Fprintf(w, "; Entra mix %.0f%%\n", 100*r.rps/c.rps)
		}
	}

	size := sizes[len(sizes)-1]
	res := all[size]
	b, c := res[base], res[ceiling]
	fmt.Fprintf(w, "\nGoals at %d users (%s):\n", size, base)
	if b == nil || b.cut == b.rounds {
		fmt.Fprintln(w, "  no result for", base)
		return nil
	}
	var fast *result
	fastName := ""
	for _, p := range peers {
		if r := res[p]; r != nil && r.cut < r.rounds && (fast == nil || r.rps > fast.rps) {
			fast, fastName = r, p
		}
	}
	if fast != nil {
		x := b.rps / fast.rps
		fmt.Fprintf(w, "  at least 10x the throughput of the faster peer (%s): %.1fx, %s\n", fastName, x, met(x >= 10))
		fmt.Fprintf(w, "  a lower p99 than %s: %.1f ms against %.1f ms, %s\n", fastName, b.p99, fast.p99, met(b.p99 < fast.p99))
	} else {
		fmt.Fprintln(w, "  no peer has a mix result: throughput and p99 goals not measured")
		for _, p := range peers {
			if r := res[p]; r != nil && r.preload > 0 {
				fmt.Fprintf(w, "  %s's preload was cut at %d users, creating %.0f/s; %s created %.0f/s (%.1fx)\n", p, r.loaded, r.preload, base, b.preload, b.preload/r.preload)
			}
		}
	}
	if c != nil && c.cut < c.rounds {
		if b.alone > 0 && c.alone > 0 {
			f := b.alone / c.alone
			fmt.Fprintf(w, "  match queries at no less than 40%% of the ceiling (alone): %.0f%%, %s\n", 100*f, met(f >= 0.4))
		}
		f := b.matchRP / c.matchRP
		fmt.Fprintf(w, "  match queries at no less than 40%% of the ceiling (in the mix): %.0f%%, %s\n", 100*f, met(f >= 0.4))
	}
	return nil
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func ratio(v float64, b *result, f func(*result) float64) string {
	if b == nil || b.cut == b.rounds || f(b) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v/f(b))
}

func statuses(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func names(res map[string]*result, order []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range order {
		if res[n] != nil {
			out, seen[n] = append(out, n), true
		}
	}
	var rest []string
	for n := range res {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// load reads dir's SERVER.rN.json files.
func load(dir string) (map[string]*result, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.r*.json"))
	if err != nil {
		return nil, err
	}
	reps := map[string][]*loadgen.Report{}
	alone := map[string][]*matchReport{}
	for _, f := range files {
		name := filepath.Base(f)
		if m, ok := strings.CutSuffix(name, ".match.json"); ok {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var mr *matchReport
			if len(strings.TrimSpace(string(data))) > 0 {
				mr = new(matchReport)
				if err := json.Unmarshal(data, mr); err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
			}
			m = m[:strings.LastIndex(m, ".r")]
			alone[m] = append(alone[m], mr)
			continue
		}
		name = name[:strings.LastIndex(name, ".r")]
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var rep *loadgen.Report
		if len(strings.TrimSpace(string(data))) > 0 {
			rep = new(loadgen.Report)
			if err := json.Unmarshal(data, rep); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
		}
		reps[name] = append(reps[name], rep)
	}
	out := map[string]*result{}
	for name, rs := range reps {
		r := &result{rounds: len(rs), failed: map[string]map[string]int64{}}
		var preload, loaded, rps, p99, mrps, mp99 []float64
		for _, rep := range rs {
			if rep == nil {
				r.cut++
				continue
			}
			preload = append(preload, rep.Preload.CreatesPerS)
			loaded = append(loaded, float64(rep.Preload.Users))
			if rep.Overall.Count == 0 {
				r.cut++
			} else {
				rps = append(rps, rep.Overall.RPS)
				p99 = append(p99, rep.Overall.P99MS)
				m := rep.Ops["match_username"]
				mrps, mp99 = append(mrps, m.RPS), append(mp99, m.P99MS)
				r.errors += rep.Overall.ErrorCount()
				r.count += rep.Overall.Count
			}
			add := func(prefix string, ops map[string]loadgen.OpReport) {
				for op, o := range ops {
					for k, v := range o.Errors {
						if r.failed[prefix+op] == nil {
							r.failed[prefix+op] = map[string]int64{}
						}
						r.failed[prefix+op][k] += v
					}
				}
			}
			add("preload:", rep.Preload.Ops)
			add("", rep.Ops)
		}
		r.preload, r.loaded = median(preload), int(median(loaded))
		r.rps, r.p99, r.matchRP, r.matchP = median(rps), median(p99), median(mrps), median(mp99)
		var arps, ap99 []float64
		for _, mr := range alone[name] {
			if mr == nil || mr.Count == 0 {
				continue
			}
			arps, ap99 = append(arps, mr.RPS), append(ap99, mr.P99MS)
			for k, v := range mr.Errors {
				if r.failed["alone:match_username"] == nil {
					r.failed["alone:match_username"] = map[string]int64{}
				}
				r.failed["alone:match_username"][k] += v
			}
		}
		r.alone, r.aloneP99 = median(arps), median(ap99)
		out[name] = r
	}
	return out, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
