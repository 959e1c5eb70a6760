package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/roster-scim/roster/sqlite"
)

// op is one measured operation: req builds the i-th request (0-based) of
// the phase; want is the status a success answers.
type op struct {
	name string
	what string
	n    int
	want int
	req  func(i int, rng *rand.Rand) (method, path, body string)
	// worker, when set, replaces req: it builds the next request of
	// worker w, for operations where each client follows its own
	// sequence.
	worker func(w int) (method, path, body string)
}

// opResult is the latency distribution of one operation, in milliseconds.
type opResult struct {
	Name     string  `json:"name"`
	What     string  `json:"what"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"per_second"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	// PeakRSSKB is the server's VmHWM after this operation: the peak of
	// the whole run so far, which tells which operation raised it.
	PeakRSSKB int64 `json:"server_vmhwm_kb_after"`
}

type report struct {
	Started     time.Time  `json:"started"`
	Workers     int        `json:"workers"`
	Users       int        `json:"users"`
	Members     int        `json:"members"`
	DBMB        int64      `json:"db_mb"`
	NumCPU      int        `json:"num_cpu"`
	Load        string     `json:"loadavg_before"`
	Ops         []opResult `json:"ops"`
	ServerPID   int        `json:"server_pid"`
	PeakRSSKB   int64      `json:"server_vmhwm_kb"`
	RSSKB       int64      `json:"server_vmrss_kb_at_end"`
	ServerStart float64    `json:"server_ready_seconds"`
}

func runMeasure(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("measure", flag.ExitOnError)
	data := fs.String("data", "", "data directory made by seed")
	bin := fs.String("roster", "roster", "roster binary to run as `roster serve`")
	workers := fs.Int("workers", 8, "concurrent clients per operation")
	requests := fs.Int("requests", 2000, "requests per operation")
	listRequests := fs.Int("list-requests", 400, "requests per list-page operation (pages at deep offsets are slow)")
	warmup := fs.Int("warmup", 200, "unmeasured requests of each read operation first")
	only := fs.String("ops", "", "comma-separated operations to run (default: all)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	out := fs.String("out", "", "also write the JSON report to this `file`")
	fs.Parse(args)
	if *data == "" {
		return errors.New("measure: --data is required")
	}
	m, err := readManifest(*data)
	if err != nil {
		return err
	}

	// Users to add to the big group and members to remove from it, picked
	// before the server starts, from the database read directly.
	adds, removes, err := pickMembers(ctx, *data, m, *requests+*warmup)
	if err != nil {
		return err
	}

	rep := &report{Started: time.Now().UTC(), Workers: *workers, Users: m.Users, Members: m.Members, NumCPU: runtime.NumCPU()}
	if st, err := os.Stat(filepath.Join(*data, sqlite.FileName)); err == nil {
		rep.DBMB = st.Size() >> 20
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.Load = strings.TrimSpace(string(b))
	}

	// The server, as a child process, logging to a file next to the data.
	port, err := freePort()
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(*data, "scalebench-serve.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(*bin, "serve", "--data", *data, "--addr", addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	rep.ServerPID = cmd.Process.Pid
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	}()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: *workers * 2, MaxIdleConnsPerHost: *workers * 2}, Timeout: 5 * time.Minute}
	origin := "http://" + addr
	if err := waitReady(ctx, hc, origin+"/healthz", 2*time.Minute); err != nil {
		return err
	}
	rep.ServerStart = time.Since(started).Seconds()
	fmt.Fprintf(os.Stderr, "server pid %d ready on %s in %.1fs\n", cmd.Process.Pid, addr, rep.ServerStart)

	base := origin + m.SCIMPath
	run := strconv.FormatInt(time.Now().Unix(), 36)
	group := "/Groups/" + m.GroupID
	ops := []op{
		{name: "get-by-username", what: `GET /Users?filter=userName eq "<random existing>"`, n: *requests, want: 200,
			req: func(i int, rng *rand.Rand) (string, string, string) {
				return "GET", "/Users?filter=" + url.QueryEscape(`userName eq "`+userName(rng.IntN(m.Users))+`"`), ""
			}},
		{name: "list-page", what: "GET /Users?startIndex=<random in 1..users-99>&count=100", n: *listRequests, want: 200,
			req: func(i int, rng *rand.Rand) (string, string, string) {
				return "GET", fmt.Sprintf("/Users?startIndex=%d&count=100", 1+rng.IntN(m.Users-99)), ""
			}},
		{name: "list-page-seq", what: "GET /Users?startIndex=1, 101, 201, …&count=100 (each client pages on)", n: *listRequests, want: 200,
			worker: seqPager(m.Users, *workers)},
		{name: "list-page-first", what: "GET /Users?startIndex=1&count=100", n: *listRequests, want: 200,
			req: func(i int, rng *rand.Rand) (string, string, string) {
				return "GET", "/Users?startIndex=1&count=100", ""
			}},
		{name: "list-page-last", what: "GET /Users?startIndex=<users-99>&count=100", n: *listRequests, want: 200,
			req: func(i int, rng *rand.Rand) (string, string, string) {
				return "GET", fmt.Sprintf("/Users?startIndex=%d&count=100", m.Users-99), ""
			}},
		{name: "create-user", what: "POST /Users (Entra's shape, durable commit)", n: *requests, want: 201,
			req: func(i int, rng *rand.Rand) (string, string, string) {
				return "POST", "/Users", createBody(fmt.Sprintf("sb%s-%06d@contoso.example", run, i))
			}},
		{name: "group-add-member", what: "PATCH /Groups/{big} Add one member", n: *requests, want: 204,
			req: func(i int, rng *rand.Rand) (string, string, string) {
				return "PATCH", group, memberPatch("Add", adds[i])
			}},
		{name: "group-remove-member", what: "PATCH /Groups/{big} Remove one member", n: *requests, want: 204,
			req: func(i int, rng *rand.Rand) (string, string, string) {
				return "PATCH", group, memberPatch("Remove", removes[i])
			}},
		{name: "get-group", what: "GET /Groups/{big}?excludedAttributes=members", n: *requests, want: 200,
			req: func(i int, rng *rand.Rand) (string, string, string) {
				return "GET", group + "?excludedAttributes=members", ""
			}},
	}
	selected := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s != "" {
			selected[s] = true
		}
	}
	for _, o := range ops {
		if len(selected) > 0 && !selected[o.name] {
			continue
		}
		if *warmup > 0 && o.want == 200 {
			w := o
			w.n = min(*warmup, o.n)
			if _, err := runOp(ctx, hc, base, m.Token, *workers, w, 0); err != nil {
				return fmt.Errorf("%s (warm-up): %w", o.name, err)
			}
		}
		offset := 0
		if o.want == 204 {
			offset = *warmup // the first ids are not used; they stay for a warm-up of writes, if ever
		}
		fmt.Fprintf(os.Stderr, "%s: %d requests…\n", o.name, o.n)
		res, err := runOp(ctx, hc, base, m.Token, *workers, o, offset)
		if err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
		res.PeakRSSKB, _ = procStatus(cmd.Process.Pid)
		rep.Ops = append(rep.Ops, res)
	}

	rep.PeakRSSKB, rep.RSSKB = procStatus(cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	if *out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(os.Stdout, rep)
	return nil
}

// seqPager returns the requests of clients that each read the users page
// after page, as an importer does (startIndex 1, 101, 201, … count=100),
// wrapping around at the end; client w starts at the w-th of workers
// equal parts of the list, so that the clients do not read the same pages.
// Each client's place survives the warm-up: the measured requests go on
// where it stopped.
func seqPager(users, workers int) func(w int) (string, string, string) {
	pages := max(users/100, 1)
	next := make([]int, workers)
	for w := range next {
		next[w] = w * (pages / workers)
	}
	return func(w int) (string, string, string) {
		p := next[w] % pages
		next[w] = p + 1
		return "GET", fmt.Sprintf("/Users?startIndex=%d&count=100", p*100+1), ""
	}
}

// runOp sends o.n requests from workers clients and returns the exact
// percentiles of their latencies. A request answered with another status
// than o.want counts as an error (its latency is kept); the first few
// errors are printed.
func runOp(ctx context.Context, hc *http.Client, base, token string, workers int, o op, offset int) (opResult, error) {
	lat := make([]time.Duration, o.n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.n {
					return
				}
				var method, path, body string
				if o.worker != nil {
					method, path, body = o.worker(w)
				} else {
					method, path, body = o.req(i+offset, rng)
				}
				t0 := time.Now()
				status, msg, err := do(ctx, hc, method, base+path, token, body)
				lat[i] = time.Since(t0)
				if err != nil || status != o.want {
					if errs.Add(1) <= 3 {
						fmt.Fprintf(os.Stderr, "  %s %s: %d %v %s\n", method, path, status, err, msg)
					}
					mu.Lock()
					if firstErr == nil && err != nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return opResult{}, ctx.Err()
	}
	if firstErr != nil && errs.Load() == int64(o.n) {
		return opResult{}, firstErr
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }
	return opResult{Name: o.name, What: o.what, Requests: o.n, Errors: int(errs.Load()),
		Seconds: math.Round(elapsed.Seconds()*10) / 10, PerSec: math.Round(float64(o.n) / elapsed.Seconds()),
		P50: ms(pct(lat, 0.50)), P95: ms(pct(lat, 0.95)), P99: ms(pct(lat, 0.99)), Max: ms(lat[len(lat)-1])}, nil
}

// pct returns the q-quantile of sorted samples: the smallest sample with at
// least q of the samples at or below it.
func pct(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// do sends one request and reads the whole answer; msg is the start of
// the body of an answer that is not a success.
func do(ctx context.Context, hc *http.Client, method, u, token, body string) (status int, msg string, err error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/scim+json")
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		msg = string(b[:min(len(b), 300)])
	}
	return res.StatusCode, msg, err
}

func createBody(name string) string {
	b, _ := json.Marshal(map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"externalId":  name,
		"userName":    name,
		"active":      true,
		"displayName": "Bench User",
		"title":       "Engineer",
		"name":        map[string]any{"givenName": "Bench", "familyName": "User", "formatted": "Bench User"},
		"emails":      []any{map[string]any{"type": "work", "primary": true, "value": name}},
		"addresses":   []any{map[string]any{"type": "work", "primary": true, "locality": "Redmond", "country": "US"}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"employeeNumber": "42", "department": "Department 1", "costCenter": "CC001",
		},
	})
	return string(b)
}

func memberPatch(opName, id string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"` + opName +
		`","path":"members","value":[{"value":"` + id + `"}]}]}`
}

// pickMembers returns n random users outside the big group and n random
// members of it, in random order, read from the database before the
// server opens it.
func pickMembers(ctx context.Context, data string, m manifest, n int) (adds, removes []string, err error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, sqlite.FileName)+"?_pragma=busy_timeout(10000)&_pragma=query_only(ON)")
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	var grid int64
	if err := db.QueryRowContext(ctx, `SELECT rid FROM resources WHERE id = ?`, m.GroupID).Scan(&grid); err != nil {
		return nil, nil, fmt.Errorf("the big group: %w", err)
	}
	query := func(q string, args ...any) ([]string, error) {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(out) < n {
			return nil, fmt.Errorf("only %d candidates, %d needed", len(out), n)
		}
		return out, nil
	}
	if adds, err = query(`SELECT id FROM resources WHERE dir_id = ? AND type = 'User'
		AND rid NOT IN (SELECT member_rid FROM memberships WHERE group_rid = ?) ORDER BY random() LIMIT ?`, m.DirID, grid, n); err != nil {
		return nil, nil, fmt.Errorf("users to add: %w", err)
	}
	if removes, err = query(`SELECT r.id FROM memberships m JOIN resources r ON r.rid = m.member_rid
		WHERE m.group_rid = ? ORDER BY random() LIMIT ?`, grid, n); err != nil {
		return nil, nil, fmt.Errorf("members to remove: %w", err)
	}
	return adds, removes, nil
}

func readManifest(data string) (manifest, error) {
	var m manifest
	b, err := os.ReadFile(filepath.Join(data, manifestName))
	if err != nil {
		return m, fmt.Errorf("%w (run seed first)", err)
	}
	return m, json.Unmarshal(b, &m)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(ctx context.Context, hc *http.Client, u string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if res, err := hc.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("server not ready at %s after %v (see scalebench-serve.log)", u, limit)
}

// procStatus returns VmHWM (peak resident set) and VmRSS of pid, in kB.
func procStatus(pid int) (hwm, rss int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmHWM:":
			hwm = v
		case "VmRSS:":
			rss = v
		}
	}
	return hwm, rss
}

func printReport(w io.Writer, r *report) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d users, big group of %d members, roster.db %d MB; %d workers, %d CPUs; loadavg before: %s\n",
		r.Users, r.Members, r.DBMB, r.Workers, r.NumCPU, r.Load)
	fmt.Fprintf(&b, "server pid %d ready in %.1fs\n\n", r.ServerPID, r.ServerStart)
	fmt.Fprintf(&b, "| operation | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms | server peak RSS after, MB |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, o := range r.Ops {
		fmt.Fprintf(&b, "| %s | %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %d |\n", o.Name, o.Requests, o.Errors, o.PerSec, o.P50, o.P95, o.P99, o.Max, o.PeakRSSKB>>10)
	}
	fmt.Fprintf(&b, "\nserver peak RSS (VmHWM): %d MB (%d kB); RSS at the end: %d MB\n", r.PeakRSSKB>>10, r.PeakRSSKB, r.RSSKB>>10)
	fmt.Fprintf(&b, "\n")
	for _, o := range r.Ops {
		fmt.Fprintf(&b, "%-20s %s\n", o.Name, o.What)
	}
	w.Write(b.Bytes())
}
