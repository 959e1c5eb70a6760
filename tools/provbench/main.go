// Command provbench measures provisioning cycles end to end: an initial
// cycle of a CSV export (by default 100,000 users, 1,000 groups and
// 100,000 memberships) into a Roster SCIM server, then a cycle over the
// same, unchanged file, which must send no write.
//
// The target is a real Roster server (scimhttp on SQLite in a temporary
// directory) served from this process behind a middleware that counts the
// requests it gets by method. The engine runs in a child process, one per
// cycle (this program again, with -engine), with the job's state in a
// second SQLite store, as `roster job run` would: so the peak RSS reported
// for a cycle is the engine's own (source, engine, SCIM client and state
// store), not the target's. Both processes share the machine's CPUs.
//
//	go run ./tools/provbench                         # 100,000 users, 1,000 groups
//	go run ./tools/provbench -users 10000 -groups 100
//	go run ./tools/provbench -profile /tmp/prof      # CPU and heap profiles of each cycle
//
// It is not part of the binary and asserts nothing: see docs/benchmarks.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/runner"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
	"github.com/roster-scim/roster/sqlite"
)

const jobName = "bench"

func main() {
	users := flag.Int("users", 100000, "users in the CSV")
	groups := flag.Int("groups", 1000, "groups; each user is a member of exactly one")
	concurrency := flag.Int("concurrency", 0, "the job's target concurrency; 0 is the job default (8)")
	profile := flag.String("profile", "", "directory for CPU and heap profiles of each cycle (cpu-initial.pprof, heap-initial.pprof, …)")
	keep := flag.String("dir", "", "work directory (CSV, both databases); default a temporary one, removed at the end")
	engine := flag.Bool("engine", false, "internal: run one cycle as the engine process")
	stateDir := flag.String("state", "", "internal: the state store's directory")
	org := flag.String("org", "", "internal: the job's organization")
	cycle := flag.String("cycle", "", "internal: the cycle's name, for the profiles")
	flag.Parse()
	if *engine {
		if err := runEngine(*stateDir, *org, *cycle, *profile); err != nil {
			fmt.Fprintln(os.Stderr, "provbench engine:", err)
			os.Exit(1)
		}
		return
	}
	if err := bench(*users, *groups, *concurrency, *profile, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "provbench:", err)
		os.Exit(1)
	}
}

// ---- the CSV ----

var (
	firstNames  = []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis", "Radia", "John", "Sophie", "Niklaus", "Hedy", "Tim"}
	lastNames   = []string{"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie", "Perlman", "Backus", "Wilson", "Wirth", "Lamarr", "Berners-Lee"}
	departments = []string{"Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Legal", "Support", "Operations", "Research", "Facilities"}
	titles      = []string{"Engineer", "Senior Engineer", "Manager", "Director", "Analyst", "Account Executive", "Specialist", "Coordinator", "Consultant", "Administrator"}
)

// objectID is an Entra-style object id (a GUID) for user or group n.
func objectID(kind byte, n int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n*2654435761&0xffffffff, n&0xffff, int(kind)&0xfff, n%4096, n)
}

// writeCSV writes users rows: user i reports to user (i-1)/10 (a tree ten
// wide; user 0 has no manager) and is a member of group i%groups.
func writeCSV(path string, users, groups int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,userPrincipalName,givenName,surname,displayName,mail,jobTitle,department,employeeId,manager,accountEnabled,groups")
	for i := range users {
		given, sur := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
		upn := fmt.Sprintf("%s.%s.%d@contoso.example", strings.ToLower(given), strings.ToLower(sur), i)
		mgr := ""
		if i > 0 {
			mgr = objectID('u', (i-1)/10)
		}
		fmt.Fprintf(w, "%s,%s,%s,%s,%s %s,%s,%s,%s,E%07d,%s,true,%s\n",
			objectID('u', i), upn, given, sur, given, sur, upn, titles[(i/7)%len(titles)], departments[(i/13)%len(departments)],
			i, mgr, fmt.Sprintf("Group %04d", i%groups))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// ---- the target ----

// counter counts the target's requests by method and resource type.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + resourceOf(r.URL.Path)
		c.mu.Lock()
		c.n[key]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func resourceOf(path string) string {
	for _, rt := range []string{"Users", "Groups"} {
		if i := strings.Index(path, "/"+rt); i >= 0 {
			return rt
		}
	}
	return "other"
}

// take returns and resets the counts.
func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.n
	c.n = map[string]int{}
	return out
}

func bootstrap(ctx context.Context, db *sqlite.DB) (dirID, secret, orgID string, err error) {
	secret, hash := roster.NewSecret()
	b := &roster.Bootstrap{
		Org: roster.Organization{ID: roster.NewID(), Name: "Org"},
		Dir: roster.Directory{ID: roster.NewID(), Name: "Directory"},
		Key: roster.APIKey{ID: roster.NewID(), Name: "key", SecretHash: hash, Users: roster.PrivWrite, Groups: roster.PrivWrite},
	}
	b.Dir.OrgID, b.Key.OrgID = b.Org.ID, b.Org.ID
	return b.Dir.ID, secret, b.Org.ID, db.Bootstrap(ctx, b)
}

// ---- the parent ----

// report is what the engine process prints about its cycle.
type report struct {
	Summary *provision.Summary
	VmHWMKB int64
	Wall    time.Duration // Run, in the engine process
	Phases  []phase
	Waits   map[string]timing
}

// phase is when a phase of the cycle started, from the start of Run.
type phase struct {
	Name string
	At   time.Duration
}

func bench(users, groups, concurrency int, profile, dir string) error {
	ctx := context.Background()
	if groups < 1 || users < 1 {
		return fmt.Errorf("-users and -groups must be positive")
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "provbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	for _, sub := range []string{"target", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	if profile != "" {
		if err := os.MkdirAll(profile, 0o755); err != nil {
			return err
		}
	}
	csvPath := filepath.Join(dir, "users.csv")
	t0 := time.Now()
	if err := writeCSV(csvPath, users, groups); err != nil {
		return err
	}
	st, _ := os.Stat(csvPath)
	fmt.Printf("source: %s, %d users, %d groups, %d memberships, %.1f MB, written in %v\n",
		csvPath, users, groups, users, float64(st.Size())/1e6, time.Since(t0).Round(time.Millisecond))

	// The target: a Roster server on SQLite, in this process.
	tdb, err := sqlite.Open(ctx, filepath.Join(dir, "target"), scim.NewRegistry())
	if err != nil {
		return err
	}
	defer tdb.Close()
	dirID, secret, _, err := bootstrap(ctx, tdb)
	if err != nil {
		return err
	}
	prom := prometheus.NewRegistry()
	srv := scimhttp.New(tdb, tdb, nil, slog.New(slog.DiscardHandler), prom, scimhttp.DefaultConfig())
	cnt := &counter{n: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: cnt.wrap(srv.Handler(prom))}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/v1/scim/" + dirID

	// The job, stored in the engine's state store.
	stateDir := filepath.Join(dir, "state")
	sdb, err := sqlite.Open(ctx, stateDir, scim.NewRegistry())
	if err != nil {
		return err
	}
	_, _, org, err := bootstrap(ctx, sdb)
	if err != nil {
		return err
	}
	sealer, _ := provision.NewSealer(sealKey())
	def := map[string]any{
		"name":   jobName,
		"source": map[string]any{"type": "file", "path": csvPath, "groups_column": "groups"},
		"target": map[string]any{"url": url, "token": secret, "concurrency": concurrency},
	}
	b, _ := json.Marshal(def)
	j, err := provision.LoadJob(bytes.NewReader(b), "job.json", dir)
	if err != nil {
		return err
	}
	if _, err := (&runner.Runner{Store: sdb, Sealer: sealer}).Save(ctx, org, j, false); err != nil {
		return err
	}
	sdb.Close()
	fmt.Printf("machine: %d CPUs, %s, %s/%s\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("job: target concurrency %d (0: default 8), default Entra mappings, matching on userName/displayName\n", concurrency)

	objects := users + groups + users // users, groups and memberships, as Entra counts objects in scope
	for _, name := range []string{"initial", "no-change"} {
		var pf *os.File
		if profile != "" {
			// The target's CPU profile: this process serves it.
			if pf, err = os.Create(filepath.Join(profile, "target-cpu-"+name+".pprof")); err != nil {
				return err
			}
			pprof.StartCPUProfile(pf)
		}
		var tu0 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &tu0)
		rep, ru, wall, err := child(stateDir, org, name, profile)
		var tu1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &tu1)
		if pf != nil {
			pprof.StopCPUProfile()
			pf.Close()
		}
		if err != nil {
			return fmt.Errorf("%s cycle: %w", name, err)
		}
		reqs := cnt.take()
		s := rep.Summary
		fmt.Printf("\n== %s cycle (%s)\n", name, s.Cycle)
		fmt.Printf("engine Run:     %v (%.0f objects/s over %d users+groups+memberships; %.0f users/s)\n",
			rep.Wall.Round(time.Millisecond), float64(objects)/rep.Wall.Seconds(), objects, float64(users)/rep.Wall.Seconds())
		// VmHWM, read by the engine process itself, is its peak RSS. The
		// rusage ru_maxrss of a child can be higher: Go starts children
		// with vfork, and Linux counts the parent's RSS at the moment of
		// the exec into the child's maximum.
		fmt.Printf("engine process: %v wall, %v user CPU, %v system CPU, peak RSS (VmHWM) %.1f MB\n",
			wall.Round(time.Millisecond), time.Duration(ru.Utime.Nano()).Round(time.Millisecond), time.Duration(ru.Stime.Nano()).Round(time.Millisecond),
			float64(rep.VmHWMKB)/1024)
		c := s.Counts
		fmt.Printf("summary:        initial=%v created=%d updated=%d disabled=%d deleted=%d skipped=%d failed=%d unchanged=%d\n",
			s.Initial, c.Created, c.Updated, c.Disabled, c.Deleted, c.Skipped, c.Failed, s.Unchanged)
		keys := make([]string, 0, len(reqs))
		total, writes := 0, 0
		for k, n := range reqs {
			keys = append(keys, k)
			total += n
			if !strings.HasPrefix(k, "GET ") {
				writes += n
			}
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, reqs[k]))
		}
		fmt.Printf("target process: %v user CPU, %v system CPU\n",
			time.Duration(tu1.Utime.Nano()-tu0.Utime.Nano()).Round(time.Millisecond), time.Duration(tu1.Stime.Nano()-tu0.Stime.Nano()).Round(time.Millisecond))
		var ph []string
		for i, p := range rep.Phases {
			end := rep.Wall
			if i+1 < len(rep.Phases) {
				end = rep.Phases[i+1].At
			}
			ph = append(ph, fmt.Sprintf("%s %v", p.Name, (end-p.At).Round(time.Millisecond)))
		}
		fmt.Printf("phases:         %s\n", strings.Join(ph, ", "))
		fmt.Printf("engine waited (summed over its workers):\n")
		for _, k := range sortedByTotal(rep.Waits) {
			w := rep.Waits[k]
			fmt.Printf("  %-26s %7d calls %10v total %9v mean\n", k, w.Calls, w.Total.Round(time.Millisecond), (w.Total / time.Duration(w.Calls)).Round(time.Microsecond))
		}
		fmt.Printf("target got:     %d requests, %d writes (%s); %.0f requests/s\n", total, writes, strings.Join(parts, ", "), float64(total)/rep.Wall.Seconds())
	}
	return nil
}

// sealKey is the key the parent seals the job's token with and the engine
// opens it with: a fixed one, the job only lives for the run.
func sealKey() []byte { return make([]byte, provision.KeySize) }

// child runs one cycle in an engine process and returns its report and
// resource usage.
func child(stateDir, org, name, profile string) (*report, *syscall.Rusage, time.Duration, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, 0, err
	}
	cmd := exec.Command(exe, "-engine", "-state", stateDir, "-org", org, "-cycle", name, "-profile", profile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, nil, 0, err
	}
	wall := time.Since(t0)
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return nil, nil, 0, fmt.Errorf("the engine's report: %w: %s", err, out.Bytes())
	}
	return &rep, cmd.ProcessState.SysUsage().(*syscall.Rusage), wall, nil
}

// ---- the engine process ----

func runEngine(stateDir, org, cycle, profile string) error {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, stateDir, scim.NewRegistry())
	if err != nil {
		return err
	}
	defer db.Close()
	// The cycle as runner.Run starts it, with the store and the target
	// behind timers (the engine's code is unchanged).
	tm := &timings{}
	store := timedStore{StateStore: db, t: tm}
	sealer, _ := provision.NewSealer(sealKey())
	r := &runner.Runner{Store: db, Sealer: sealer}
	rec, j, err := r.Load(ctx, org, jobName)
	if err != nil {
		return err
	}
	src, err := r.Source(j)
	if err != nil {
		return err
	}
	tgt, err := r.Target(j)
	if err != nil {
		return err
	}
	eng := &provision.Engine{Store: store, Holder: "provbench"}
	var phases []phase
	t0 := time.Now()
	progress := func(p provision.Progress) {
		if len(phases) == 0 || phases[len(phases)-1].Name != p.Phase {
			phases = append(phases, phase{Name: p.Phase, At: time.Since(t0)})
		}
	}
	var stopHeap func() error
	if profile != "" {
		f, err := os.Create(filepath.Join(profile, "cpu-"+cycle+".pprof"))
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		stopHeap = peakHeap(filepath.Join(profile, "heap-"+cycle+".pprof"))
	}
	phases = append(phases, phase{Name: "users", At: 0})
	t0 = time.Now()
	s, err := eng.Run(ctx, provision.Cycle{Record: rec, Job: j, Source: src, Target: timedTarget{tgt, tm}, Progress: progress})
	wall := time.Since(t0)
	if profile != "" {
		pprof.StopCPUProfile()
		if err := stopHeap(); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	s.Samples = nil
	return json.NewEncoder(os.Stdout).Encode(report{Summary: s, VmHWMKB: vmHWM(), Wall: wall, Phases: phases, Waits: tm.snapshot()})
}

// peakHeap samples the heap every second and keeps a heap profile taken
// when the heap in use was largest, so that the profile shows what the
// engine holds at its peak, not after the cycle let go of it; its
// alloc_space sample shows what the whole cycle allocated.
func peakHeap(path string) (stop func() error) {
	var best []byte
	var max uint64
	var stopped atomic.Bool
	done := make(chan struct{})
	take := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > max || best == nil {
			max = ms.HeapInuse
			var buf bytes.Buffer
			pprof.Lookup("heap").WriteTo(&buf, 0)
			best = buf.Bytes()
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for !stopped.Load() {
			take()
			<-t.C
		}
	}()
	return func() error {
		stopped.Store(true)
		<-done
		// The final profile has the cycle's whole alloc_space; keep the
		// peak's in-use figures in the file name's sibling.
		var buf bytes.Buffer
		pprof.Lookup("heap").WriteTo(&buf, 0)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return err
		}
		return os.WriteFile(strings.TrimSuffix(path, ".pprof")+"-peak.pprof", best, 0o644)
	}
}

// vmHWM reads this process's peak resident set from /proc/self/status.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
