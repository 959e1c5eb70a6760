// Package loadgen is a load generator for any SCIM 2.0 service provider
// that speaks the way Microsoft Entra ID's provisioning service does; it is
// `roster bench`.
//
// A run has three phases. The preload creates Config.Users users and
// Config.Groups groups in Entra's request shapes and adds
// Config.MembersPerGroup members to each group in batched PATCHes, with
// Config.Concurrency requests in flight; it is timed and reported on its
// own. The mix then runs for Config.Duration: Config.Concurrency workers
// each loop, picking an operation by weight (Weights) and sending it at once
// (a closed loop: the next request leaves when the previous answered). The
// cleanup finally deletes every user and group the run created, unless
// Config.Keep.
//
// The weights model an Entra incremental cycle: for every object it
// evaluates, Entra first queries the app on the matching attribute, so match
// queries are about as frequent as all writes together; updates are the
// most common writes, creates come next, and a user leaving scope is
// disabled rather than deleted (deletes follow a soft delete much later);
// group membership changes arrive in batched PATCHes, with the membership
// probe and a group read before them; Test Connection is rare.
//
//	test_connection               1   GET /Users?filter=userName eq "<guid>" (and the /Groups probe), expects 200 and no results
//	match_username               30   GET /Users?filter=userName eq "<preloaded user>", expects 1 result
//	match_externalid              5   GET /Users?filter=externalId eq "<preloaded user>", expects 1 result
//	create_user                   6   POST /Users, expects 201
//	patch_user_default           20   PATCH /Users/{id}, default dialect, expects 200 or 204
//	patch_user_flag               8   PATCH /Users/{id}, aadOptscim062020 dialect, expects 200 or 204
//	disable_user                  5   PATCH /Users/{id} active "False" or false, dialects in turn, expects 200 or 204
//	create_group                  1   POST /Groups, expects 201
//	add_members                   8   PATCH /Groups/{id}, 10 members in one Add, expects 200 or 204
//	remove_members                4   PATCH /Groups/{id}, 10 current members, both dialects in turn, expects 200 or 204
//	membership_probe              4   GET /Groups?filter=id eq "<gid>" and members eq "<uid>"&attributes=id, expects 0 or 1 result
//	get_group_excluding_members   3   GET /Groups/{id}?excludedAttributes=members, expects 200 without members
//	delete_user                   5   DELETE /Users/{id} of a user the mix created, expects 204
//
// Each request is one sample of its operation (a Test Connection is two
// requests). An operation that has nothing to work on sends another
// instead: delete_user with no user of the mix left creates one,
// remove_members without members adds some, add_members to a group that
// holds every user probes a membership. A response with another status is an error of that operation,
// bucketed by status code ("transport" when no response came, "body" when
// the status was right but the body was not, such as a Test Connection
// that found a user); the mix keeps running.
package loadgen

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what a run does and against which server.
type Config struct {
	URL   string // the tenant URL: /Users and /Groups are appended to it
	Token string // sent as a bearer token; never printed
	// Users and Groups are the population the preload creates;
	// MembersPerGroup members are added to each group (capped at Users).
	Users, Groups, MembersPerGroup int
	Concurrency                    int           // requests in flight, in the preload, the mix and the cleanup
	Duration                       time.Duration // how long the mix runs
	Keep                           bool          // leave the run's users and groups on the server
	Seed                           uint64        // seeds the choice of operations and objects; 0 picks one
	// Prefix is put into every userName and displayName the run creates,
	// so that runs never collide; empty picks "bench-" and 8 random hex
	// digits. Letters, digits, '-', '_' and '.' only.
	Prefix string
	// HTTPClient sends the requests; nil is a client with a transport
	// tuned for Concurrency connections and Entra's 60 s timeout.
	HTTPClient *http.Client
	// CleanupTimeout bounds the cleanup, which runs with a fresh context
	// even when ctx was cancelled; 0 is 10 minutes.
	CleanupTimeout time.Duration
	// Progress, when set, gets a line as each phase starts.
	Progress io.Writer
}

// Op names an operation of the mix; the names are the keys of a report.
type Op int

// The operations of the mix, in the order of Weights and of a report's
// table.
const (
	OpTestConnection Op = iota
	OpMatchUserName
	OpMatchExternalID
	OpCreateUser
	OpPatchUserDefault
	OpPatchUserFlag
	OpDisableUser
	OpCreateGroup
	OpAddMembers
	OpRemoveMembers
	OpMembershipProbe
	OpGetGroup
	OpDeleteUser
	numOps
)

var opNames = [numOps]string{
	"test_connection", "match_username", "match_externalid", "create_user", "patch_user_default", "patch_user_flag",
	"disable_user", "create_group", "add_members", "remove_members", "membership_probe", "get_group_excluding_members", "delete_user",
}

func (o Op) String() string { return opNames[o] }

// Weights are the relative frequencies of the mix's operations, in Op
// order; the package comment says why.
var Weights = [numOps]int{1, 30, 5, 6, 20, 8, 5, 1, 8, 4, 4, 3, 5}

// memberBatch is how many members one add_members or remove_members PATCH
// carries (and each preload membership PATCH).
const memberBatch = 10

// Report is the outcome of a run; it marshals to the document `roster bench
// --json` prints.
type Report struct {
	Config      ReportConfig        `json:"config"`
	Server      ReportServer        `json:"server"`
	Weights     map[string]int      `json:"weights"`
	Preload     Preload             `json:"preload"`
	Ops         map[string]OpReport `json:"ops"`
	Overall     OpReport            `json:"overall"`
	Cleanup     Cleanup             `json:"cleanup"`
	Interrupted bool                `json:"interrupted"` // ctx was cancelled before the mix ended
}

// ReportConfig is the run's configuration, without the token.
type ReportConfig struct {
	Users           int     `json:"users"`
	Groups          int     `json:"groups"`
	MembersPerGroup int     `json:"members_per_group"`
	Concurrency     int     `json:"concurrency"`
	DurationSeconds float64 `json:"duration_s"`
	Keep            bool    `json:"keep"`
	Seed            uint64  `json:"seed"`
	Prefix          string  `json:"prefix"`
}

// ReportServer says which server was measured and whether it behaved: no
// request of any phase had an unexpected status or body.
type ReportServer struct {
	URL     string `json:"url"`
	Behaved bool   `json:"behaved"`
}

// Preload is the preload phase: what it created and how fast.
type Preload struct {
	Users       int                 `json:"users"`
	Groups      int                 `json:"groups"`
	Memberships int                 `json:"memberships"`
	Seconds     float64             `json:"seconds"`
	CreatesPerS float64             `json:"creates_per_s"` // users and groups created per second of the user and group phases
	Ops         map[string]OpReport `json:"ops"`
}

// OpReport is the statistics of one operation, or of all (overall). Count
// includes errors; RPS is over the phase's wall time.
type OpReport struct {
	Count   uint64           `json:"count"`
	RPS     float64          `json:"rps"`
	MeanMS  float64          `json:"mean_ms"`
	P50MS   float64          `json:"p50_ms"`
	P95MS   float64          `json:"p95_ms"`
	P99MS   float64          `json:"p99_ms"`
	MaxMS   float64          `json:"max_ms"`
	Errors  map[string]int64 `json:"errors"`
	Seconds float64          `json:"seconds,omitempty"` // the phase's wall time, on overall
}

// ErrorCount returns the number of errors of all kinds.
func (r OpReport) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Cleanup is the cleanup phase: how many of the run's objects it deleted,
// or left when Kept.
type Cleanup struct {
	Kept    bool             `json:"kept"`
	Users   int              `json:"users"`
	Groups  int              `json:"groups"`
	Seconds float64          `json:"seconds"`
	Errors  map[string]int64 `json:"errors"`
}

// stats is one operation's measurements, shared by the workers.
type stats struct {
	h      Histogram
	mu     sync.Mutex
	errors map[string]int64
}

func (s *stats) fail(kind string) {
	s.mu.Lock()
	if s.errors == nil {
		s.errors = map[string]int64{}
	}
	s.errors[kind]++
	s.mu.Unlock()
}

func (s *stats) report(seconds float64) OpReport {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r := OpReport{Count: s.h.Count(), MeanMS: ms(s.h.Mean()), P50MS: ms(s.h.Quantile(0.5)), P95MS: ms(s.h.Quantile(0.95)),
		P99MS: ms(s.h.Quantile(0.99)), MaxMS: ms(s.h.Max()), Errors: map[string]int64{}}
	if seconds > 0 {
		r.RPS = float64(r.Count) / seconds
	}
	s.mu.Lock()
	for k, v := range s.errors {
		r.Errors[k] += v
	}
	s.mu.Unlock()
	return r
}

// group is a group of the run with the state of its preloaded users'
// memberships, so that removals name members and adds name non-members
// even while other workers change the group.
type group struct {
	id    string
	mu    sync.Mutex
	state map[int32]uint8 // user index → adding, member or removing; absent when not a member
}

const (
	adding uint8 = iota + 1
	member
	removing
)

// user is a preloaded user.
type user struct{ id, userName, externalID string }

// runner holds a run's shared state.
type runner struct {
	cfg        Config
	base       string
	client     *http.Client
	getHdr     http.Header // shared, read-only: the transport never writes them
	bodyHdr    http.Header
	users      []user
	groupsMu   sync.RWMutex
	groups     []*group
	mixMu      sync.Mutex
	mixUsers   []string // users the mix created and has not deleted
	seq        atomic.Int64
	gseq       atomic.Int64
	rmSeq      atomic.Int64 // alternates remove_members between the dialects
	disableSeq atomic.Int64 // and disable_user
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Run runs the preload, the mix and the cleanup against cfg.URL and
// returns their report. It returns an error for an unusable Config, or when
// the server refuses the first Test Connection or the whole preload (a
// wrong URL or token); errors of single requests are in the report. When
// ctx is cancelled it stops the phase it is in, cleans up and returns the
// report so far, marked Interrupted.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, base: strings.TrimRight(cfg.URL, "/"), client: cfg.HTTPClient}
	if r.client == nil {
		r.client = NewClient(cfg.Concurrency)
	}
	auth := []string{"Bearer " + cfg.Token}
	r.getHdr = http.Header{"Authorization": auth, "Accept": {"application/scim+json"}}
	r.bodyHdr = http.Header{"Authorization": auth, "Accept": {"application/scim+json"}, "Content-Type": {"application/scim+json"}}

	rep := &Report{
		Config: ReportConfig{Users: cfg.Users, Groups: cfg.Groups, MembersPerGroup: cfg.MembersPerGroup, Concurrency: cfg.Concurrency,
			DurationSeconds: cfg.Duration.Seconds(), Keep: cfg.Keep, Seed: cfg.Seed, Prefix: cfg.Prefix},
		Server:  ReportServer{URL: redact(cfg.URL)},
		Weights: map[string]int{},
		Ops:     map[string]OpReport{},
	}
	for op, w := range Weights {
		rep.Weights[opNames[op]] = w
	}
	err := r.preload(ctx, rep)
	if err == nil && ctx.Err() == nil {
		r.progress("mix: %s with %d workers", cfg.Duration, cfg.Concurrency)
		r.mix(ctx, rep)
	}
	rep.Interrupted = ctx.Err() != nil
	r.cleanup(ctx, rep)
	rep.Server.Behaved = err == nil && rep.Overall.ErrorCount() == 0 && len(rep.Cleanup.Errors) == 0
	for _, o := range rep.Preload.Ops {
		rep.Server.Behaved = rep.Server.Behaved && o.ErrorCount() == 0
	}
	return rep, err
}

func (c *Config) check() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the URL %q is not an http:// or https:// tenant URL", redact(c.URL))
	}
	switch {
	case c.Users < 1:
		return errors.New("users must be at least 1")
	case c.Groups < 1:
		return errors.New("groups must be at least 1")
	case c.MembersPerGroup < 0:
		return errors.New("members per group must not be negative")
	case c.Concurrency < 1:
		return errors.New("concurrency must be at least 1")
	case c.Duration <= 0:
		return errors.New("duration must be positive")
	}
	c.MembersPerGroup = min(c.MembersPerGroup, c.Users)
	if c.Prefix == "" {
		var b [4]byte
		_, _ = crand.Read(b[:])
		c.Prefix = "bench-" + hex.EncodeToString(b[:])
	} else if !prefixRE.MatchString(c.Prefix) {
		return fmt.Errorf("the prefix %q may hold letters, digits, '-', '_' and '.' only", c.Prefix)
	}
	for c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	if c.CleanupTimeout <= 0 {
		c.CleanupTimeout = 10 * time.Minute
	}
	return nil
}

// NewClient returns an HTTP client for concurrency requests in flight to
// one host: it keeps that many idle connections (the default transport
// keeps 2, so a run would measure connection setup), does not ask for gzip
// (both sides would measure compression) and gives up on a request after
// 60 s, as Entra does.
func NewClient(concurrency int) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          2 * concurrency,
			MaxIdleConnsPerHost:   2 * concurrency,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true,
		},
	}
}

// redact drops the user information and the query of a URL for a report.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

func (r *runner) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...)
	}
}

// client is one worker's connection to the server: its random source and
// the buffer it reads responses into, reused request after request.
type client struct {
	r   *runner
	rng *rand.Rand
	buf bytes.Buffer
	b   []byte // scratch for URLs
}

func (r *runner) newClient(n int) *client {
	return &client{r: r, rng: rand.New(rand.NewPCG(r.cfg.Seed, uint64(n))), b: make([]byte, 0, 256)}
}

// do sends one request and records it in st: its latency, and an error
// unless the status is want or alt. The response body is in c.buf. It
// returns whether the status was expected, and false without recording
// when ctx was cancelled (the request was cut short, not answered).
func (c *client) do(ctx context.Context, st *stats, method, path string, body []byte, want, alt int) (int, bool) {
	var rd io.Reader
	hdr := c.r.getHdr
	if body != nil {
		rd, hdr = bytes.NewReader(body), c.r.bodyHdr
	}
	req, err := http.NewRequestWithContext(ctx, method, c.r.base+path, rd)
	if err != nil {
		st.fail("transport")
		return 0, false
	}
	req.Header = hdr
	c.buf.Reset()
	start := time.Now()
	resp, err := c.r.client.Do(req)
	if err == nil {
		_, err = c.buf.ReadFrom(resp.Body)
		resp.Body.Close()
	}
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return 0, false
		}
		st.h.Record(elapsed)
		st.fail("transport")
		return 0, false
	}
	st.h.Record(elapsed)
	if resp.StatusCode != want && resp.StatusCode != alt {
		st.fail(strconv.Itoa(resp.StatusCode))
		return resp.StatusCode, false
	}
	return resp.StatusCode, true
}

// createdID returns the id of the resource in c.buf.
func (c *client) createdID() string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(c.buf.Bytes(), &v)
	return v.ID
}

// totalResults returns the totalResults of the ListResponse in c.buf, or
// -1 when it has none.
func (c *client) totalResults() int {
	v := struct {
		TotalResults *int `json:"totalResults"`
	}{}
	if json.Unmarshal(c.buf.Bytes(), &v) != nil || v.TotalResults == nil {
		return -1
	}
	return *v.TotalResults
}

// query returns path (ending in "filter=") followed by a filter
// attr eq "value" in Entra's encoding: "+" for spaces, %22 for quotes.
func (c *client) query(path, attr, value string) string {
	b := append(c.b[:0], path...)
	b = append(b, attr...)
	b = append(b, "+eq+"...)
	b = appendFilterValue(b, value)
	return string(b)
}

// parallel runs fn(i) for i in [0, n) on workers clients, and stops
// starting new ones when ctx is done.
func (r *runner) parallel(ctx context.Context, n, workers int, fn func(c *client, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(workers, n) {
		c := r.newClient(1000 + w)
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(c, i)
			}
		})
	}
	wg.Wait()
}

func (r *runner) preload(ctx context.Context, rep *Report) error {
	var st [numOps]stats
	// Requests in flight finish when ctx is cancelled, so that every
	// object the server created is known to the cleanup.
	rctx := context.WithoutCancel(ctx)
	start := time.Now()
	defer func() {
		total := time.Since(start).Seconds()
		rep.Preload.Seconds = total
		rep.Preload.Ops = map[string]OpReport{}
		for op := range st {
			if st[op].h.Count() > 0 {
				rep.Preload.Ops[opNames[op]] = st[op].report(total)
			}
		}
	}()

	// One Test Connection first: a wrong URL or token fails here, once.
	c := r.newClient(999)
	guid := string(appendGUID(nil, c.rng))
	if status, ok := c.do(rctx, &st[OpTestConnection], "GET", c.query("/Users?filter=", "userName", guid), nil, 200, 200); !ok {
		if ctx.Err() != nil {
			return nil
		}
		if status == 0 {
			return fmt.Errorf("test connection to %s: no response", redact(r.cfg.URL))
		}
		return fmt.Errorf("test connection to %s: status %d (a wrong token answers 401, a wrong tenant URL 404)", redact(r.cfg.URL), status)
	}
	if c.totalResults() != 0 {
		st[OpTestConnection].fail("body") // found a user named by a random GUID
	}

	r.progress("preload: %d users, %d groups, %d members per group, %d in flight", r.cfg.Users, r.cfg.Groups, r.cfg.MembersPerGroup, r.cfg.Concurrency)
	users := make([]user, r.cfg.Users)
	createStart := time.Now()
	r.parallel(ctx, r.cfg.Users, r.cfg.Concurrency, func(c *client, i int) {
		name := userName(r.cfg.Prefix, "u", i)
		ext := string(appendGUID(nil, c.rng))
		if _, ok := c.do(rctx, &st[OpCreateUser], "POST", "/Users", userBody(make([]byte, 0, 768), name, ext, i), 201, 201); ok {
			if id := c.createdID(); id != "" {
				users[i] = user{id: id, userName: name, externalID: ext}
			} else {
				st[OpCreateUser].fail("body")
			}
		}
	})
	for _, u := range users {
		if u.id != "" {
			r.users = append(r.users, u)
		}
	}
	groups := make([]*group, r.cfg.Groups)
	r.parallel(ctx, r.cfg.Groups, r.cfg.Concurrency, func(c *client, i int) {
		name := r.cfg.Prefix + " group " + strconv.Itoa(i)
		ext := string(appendGUID(nil, c.rng))
		if _, ok := c.do(rctx, &st[OpCreateGroup], "POST", "/Groups", groupBody(make([]byte, 0, 256), name, ext), 201, 201); ok {
			if id := c.createdID(); id != "" {
				groups[i] = &group{id: id, state: map[int32]uint8{}}
			} else {
				st[OpCreateGroup].fail("body")
			}
		}
	})
	for _, g := range groups {
		if g != nil {
			r.groups = append(r.groups, g)
		}
	}
	created := len(r.users) + len(r.groups)
	rep.Preload.Users, rep.Preload.Groups = len(r.users), len(r.groups)
	if s := time.Since(createStart).Seconds(); s > 0 {
		rep.Preload.CreatesPerS = float64(created) / s
	}
	if ctx.Err() != nil {
		return nil
	}
	if len(r.users) == 0 || len(r.groups) == 0 {
		return fmt.Errorf("preload: created %d of %d users and %d of %d groups; see the errors of preload.ops", len(r.users), r.cfg.Users, len(r.groups), r.cfg.Groups)
	}

	// Group g gets the users from index g×M on, M of them, wrapping
	// around: distinct within a group, spread over the population.
	m := min(r.cfg.MembersPerGroup, len(r.users))
	perGroup := (m + memberBatch - 1) / memberBatch
	var memberships atomic.Int64
	r.parallel(ctx, len(r.groups)*perGroup, r.cfg.Concurrency, func(c *client, i int) {
		g, batch := r.groups[i/perGroup], i%perGroup
		ids := make([]string, 0, memberBatch)
		idx := make([]int32, 0, memberBatch)
		for k := batch * memberBatch; k < min(m, (batch+1)*memberBatch); k++ {
			u := int32(((i/perGroup)*m + k) % len(r.users))
			ids, idx = append(ids, r.users[u].id), append(idx, u)
		}
		if _, ok := c.do(rctx, &st[OpAddMembers], "PATCH", "/Groups/"+g.id, addMembersBody(make([]byte, 0, 128+48*len(ids)), ids), 204, 200); ok {
			g.mu.Lock()
			for _, u := range idx {
				g.state[u] = member
			}
			g.mu.Unlock()
			memberships.Add(int64(len(ids)))
		}
	})
	rep.Preload.Memberships = int(memberships.Load())
	return nil
}

// mix runs the weighted operations for the configured duration.
func (r *runner) mix(ctx context.Context, rep *Report) {
	var st [numOps]stats
	var cum [numOps]int
	total := 0
	for op, w := range Weights {
		total += w
		cum[op] = total
	}
	rctx := context.WithoutCancel(ctx) // as in the preload
	deadline := time.Now().Add(r.cfg.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range r.cfg.Concurrency {
		c := r.newClient(w)
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := c.rng.IntN(total)
				op := Op(0)
				for cum[op] <= n {
					op++
				}
				c.run(rctx, op, &st)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var all stats
	all.errors = map[string]int64{}
	for op := range st {
		rep.Ops[opNames[op]] = st[op].report(elapsed)
		all.h.Merge(&st[op].h)
		for k, v := range st[op].errors {
			all.errors[k] += v
		}
	}
	rep.Overall = all.report(elapsed)
	rep.Overall.Seconds = elapsed
}

func (r *runner) randomGroup(rng *rand.Rand) *group {
	r.groupsMu.RLock()
	defer r.groupsMu.RUnlock()
	return r.groups[rng.IntN(len(r.groups))]
}

// run sends one operation of the mix.
func (c *client) run(ctx context.Context, op Op, st *[numOps]stats) {
	r, rng := c.r, c.rng
	s := &st[op]
	switch op {
	case OpTestConnection:
		guid := string(appendGUID(c.b[:0], rng))
		if _, ok := c.do(ctx, s, "GET", c.query("/Users?filter=", "userName", guid), nil, 200, 200); ok && c.totalResults() != 0 {
			s.fail("body")
		}
		if _, ok := c.do(ctx, s, "GET", c.query("/Groups?excludedAttributes=members&filter=", "displayName", guid), nil, 200, 200); ok && c.totalResults() != 0 {
			s.fail("body")
		}
	case OpMatchUserName, OpMatchExternalID:
		u := r.users[rng.IntN(len(r.users))]
		q := c.query("/Users?filter=", "userName", u.userName)
		if op == OpMatchExternalID {
			q = c.query("/Users?filter=", "externalId", u.externalID)
		}
		if _, ok := c.do(ctx, s, "GET", q, nil, 200, 200); ok && c.totalResults() != 1 {
			s.fail("body")
		}
	case OpCreateUser:
		n := int(r.seq.Add(1))
		name := userName(r.cfg.Prefix, "m", n)
		body := userBody(make([]byte, 0, 768), name, string(appendGUID(c.b[:0], rng)), n)
		if _, ok := c.do(ctx, s, "POST", "/Users", body, 201, 201); ok {
			if id := c.createdID(); id != "" {
				r.mixMu.Lock()
				r.mixUsers = append(r.mixUsers, id)
				r.mixMu.Unlock()
			} else {
				s.fail("body")
			}
		}
	case OpPatchUserDefault:
		u := r.users[rng.IntN(len(r.users))]
		c.do(ctx, s, "PATCH", "/Users/"+u.id, patchDefaultBody(make([]byte, 0, 768), u.userName, rng.IntN(1000)), 200, 204)
	case OpPatchUserFlag:
		u := r.users[rng.IntN(len(r.users))]
		c.do(ctx, s, "PATCH", "/Users/"+u.id, patchFlagBody(make([]byte, 0, 512), rng.IntN(1000)), 200, 204)
	case OpDisableUser:
		u := r.users[rng.IntN(len(r.users))]
		body := disableBody
		if r.disableSeq.Add(1)%2 == 0 {
			body = disableFlagBody
		}
		c.do(ctx, s, "PATCH", "/Users/"+u.id, []byte(body), 200, 204)
	case OpCreateGroup:
		name := r.cfg.Prefix + " mix group " + strconv.FormatInt(r.gseq.Add(1), 10)
		if _, ok := c.do(ctx, s, "POST", "/Groups", groupBody(make([]byte, 0, 256), name, string(appendGUID(c.b[:0], rng))), 201, 201); ok {
			if id := c.createdID(); id != "" {
				r.groupsMu.Lock()
				r.groups = append(r.groups, &group{id: id, state: map[int32]uint8{}})
				r.groupsMu.Unlock()
			} else {
				s.fail("body")
			}
		}
	case OpAddMembers:
		g := r.randomGroup(rng)
		var idx [memberBatch]int32
		n := 0
		g.mu.Lock()
		for tries := 0; n < memberBatch && tries < 4*memberBatch; tries++ {
			u := int32(rng.IntN(len(r.users)))
			if _, taken := g.state[u]; !taken {
				g.state[u] = adding
				idx[n] = u
				n++
			}
		}
		g.mu.Unlock()
		if n == 0 {
			c.run(ctx, OpMembershipProbe, st) // every user is in the group
			return
		}
		var ids [memberBatch]string
		for i := range n {
			ids[i] = r.users[idx[i]].id
		}
		_, ok := c.do(ctx, s, "PATCH", "/Groups/"+g.id, addMembersBody(make([]byte, 0, 128+48*n), ids[:n]), 204, 200)
		g.mu.Lock()
		for _, u := range idx[:n] {
			if ok {
				g.state[u] = member
			} else {
				delete(g.state, u) // unknown; never removed by the mix
			}
		}
		g.mu.Unlock()
	case OpRemoveMembers:
		// A group the mix created has no members until add_members
		// gives it some: look at a few groups for members to remove.
		var g *group
		var idx [memberBatch]int32
		n := 0
		for tries := 0; n == 0 && tries < 8; tries++ {
			g = r.randomGroup(rng)
			g.mu.Lock()
			for u, state := range g.state {
				if state == member {
					g.state[u] = removing
					idx[n] = u
					if n++; n == memberBatch {
						break
					}
				}
			}
			g.mu.Unlock()
		}
		if n == 0 {
			c.run(ctx, OpAddMembers, st) // no members anywhere yet
			return
		}
		var ids [memberBatch]string
		for i := range n {
			ids[i] = r.users[idx[i]].id
		}
		flag := r.rmSeq.Add(1)%2 == 0
		_, ok := c.do(ctx, s, "PATCH", "/Groups/"+g.id, removeMembersBody(make([]byte, 0, 128+64*n), ids[:n], flag), 204, 200)
		g.mu.Lock()
		for _, u := range idx[:n] {
			if ok {
				delete(g.state, u)
			} else {
				g.state[u] = adding // unknown; never removed or added again
			}
		}
		g.mu.Unlock()
	case OpMembershipProbe:
		g, u := r.randomGroup(rng), r.users[rng.IntN(len(r.users))]
		b := append(c.b[:0], "/Groups?filter=id+eq+"...)
		b = appendFilterValue(b, g.id)
		b = append(b, "+and+members+eq+"...)
		b = appendFilterValue(b, u.id)
		b = append(b, "&attributes=id"...)
		if _, ok := c.do(ctx, s, "GET", string(b), nil, 200, 200); ok {
			if n := c.totalResults(); n != 0 && n != 1 {
				s.fail("body")
			}
		}
	case OpGetGroup:
		g := r.randomGroup(rng)
		if _, ok := c.do(ctx, s, "GET", "/Groups/"+g.id+"?excludedAttributes=members", nil, 200, 200); ok {
			var v struct {
				ID      string            `json:"id"`
				Members []json.RawMessage `json:"members"`
			}
			if json.Unmarshal(c.buf.Bytes(), &v) != nil || v.ID != g.id || len(v.Members) > 0 {
				s.fail("body")
			}
		}
	case OpDeleteUser:
		r.mixMu.Lock()
		var id string
		if n := len(r.mixUsers); n > 0 {
			i := rng.IntN(n)
			id = r.mixUsers[i]
			r.mixUsers[i] = r.mixUsers[n-1]
			r.mixUsers = r.mixUsers[:n-1]
		}
		r.mixMu.Unlock()
		if id == "" {
			c.run(ctx, OpCreateUser, st) // nothing to delete yet
			return
		}
		if _, ok := c.do(ctx, s, "DELETE", "/Users/"+id, nil, 204, 204); !ok {
			r.mixMu.Lock()
			r.mixUsers = append(r.mixUsers, id) // the cleanup tries again
			r.mixMu.Unlock()
		}
	}
}

// cleanup deletes the run's groups, then its users (a group's deletion
// takes its memberships along, cheaper than each user's), with a fresh
// context bounded by CleanupTimeout.
func (r *runner) cleanup(ctx context.Context, rep *Report) {
	var groups, users []string
	for _, g := range r.groups {
		groups = append(groups, g.id)
	}
	for _, u := range r.users {
		users = append(users, u.id)
	}
	users = append(users, r.mixUsers...)
	rep.Cleanup = Cleanup{Kept: r.cfg.Keep, Users: len(users), Groups: len(groups), Errors: map[string]int64{}}
	if r.cfg.Keep || len(users)+len(groups) == 0 {
		return
	}
	r.progress("cleanup: deleting %d users and %d groups", len(users), len(groups))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.CleanupTimeout)
	defer cancel()
	start := time.Now()
	var st stats
	var deletedUsers, deletedGroups atomic.Int64
	r.parallel(ctx, len(groups), r.cfg.Concurrency, func(c *client, i int) {
		if _, ok := c.do(ctx, &st, "DELETE", "/Groups/"+groups[i], nil, 204, 204); ok {
			deletedGroups.Add(1)
		}
	})
	r.parallel(ctx, len(users), r.cfg.Concurrency, func(c *client, i int) {
		if _, ok := c.do(ctx, &st, "DELETE", "/Users/"+users[i], nil, 204, 204); ok {
			deletedUsers.Add(1)
		}
	})
	rep.Cleanup.Seconds = time.Since(start).Seconds()
	rep.Cleanup.Users, rep.Cleanup.Groups = int(deletedUsers.Load()), int(deletedGroups.Load())
	left := int64(len(users) + len(groups) - rep.Cleanup.Users - rep.Cleanup.Groups)
	for k, v := range st.report(0).Errors {
		rep.Cleanup.Errors[k] += v
		left -= v
	}
	if left > 0 { // never sent: the time bound ran out
		rep.Cleanup.Errors["timeout"] = left
	}
}

// OpNames returns the names of the mix's operations in a stable order.
func OpNames() []string {
	names := opNames[:]
	return append([]string(nil), names...)
}
