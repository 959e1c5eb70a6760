package scimclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-scim/roster/internal/faults"
)

// newClient returns a client for base with fast retries.
func newClient(t *testing.T, base string, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: base, Token: fakeToken, Backoff: time.Millisecond, MaxAttempts: 5}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// asError returns err as *Error or fails.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *Error", err, err)
	}
	return e
}

// findBy returns a Create lookup that finds a resource by its matching
// attribute, as the engine does.
func findBy(c *Client, typ, attr, value string, calls *atomic.Int64) func(context.Context) (Resource, error) {
	return func(ctx context.Context) (Resource, error) {
		if calls != nil {
			calls.Add(1)
		}
		rs, err := c.Find(ctx, typ, fmt.Sprintf("%s eq %q", attr, value))
		if err != nil || len(rs) == 0 {
			return nil, err
		}
		return rs[0], nil
	}
}

func TestNewChecksConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"relative", Config{BaseURL: "/v1/scim/x", Token: "t"}, "absolute"},
		{"ftp", Config{BaseURL: "ftp://host/x", Token: "t"}, "absolute"},
		{"credentials in URL", Config{BaseURL: "https://u:p@host/x", Token: "t"}, "credentials"},
		{"no auth", Config{BaseURL: "https://host/x"}, "exactly one"},
		{"both auths", Config{BaseURL: "https://host/x", Token: "t", OAuth: &OAuth{TokenURL: "https://host/token", ClientID: "a", ClientSecret: "b"}}, "exactly one"},
		{"oauth without secret", Config{BaseURL: "https://host/x", OAuth: &OAuth{TokenURL: "https://host/token", ClientID: "a"}}, "secret"},
		{"negative", Config{BaseURL: "https://host/x", Token: "t", Concurrency: -1}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	f := newFake()
	c := newClient(t, start(t, f)+"/", func(c *Config) { c.UserAgent = "roster-test" })
	ctx := context.Background()

	u, err := c.Create(ctx, "Users", map[string]any{"userName": "ada@x.com", "active": true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID() == "" || u["userName"] != "ada@x.com" {
		t.Fatalf("created %v", u)
	}
	if got := f.last.Header.Get("Content-Type"); got != "application/scim+json" {
		t.Errorf("Content-Type %q", got)
	}
	if got := f.last.Header.Get("Accept"); got != "application/scim+json, application/json" {
		t.Errorf("Accept %q", got)
	}
	if got := f.last.Header.Get("User-Agent"); got != "roster-test" {
		t.Errorf("User-Agent %q", got)
	}

	got, err := c.Get(ctx, "Users", u.ID(), "groups")
	if err != nil || got["userName"] != "ada@x.com" {
		t.Fatalf("get: %v %v", got, err)
	}
	if q := f.last.URL.RawQuery; q != "excludedAttributes=groups" {
		t.Errorf("get query %q", q)
	}
	if _, err := c.Get(ctx, "Users", "nope"); !IsNotFound(err) {
		t.Fatalf("get missing: %v", err)
	}

	found, err := c.Find(ctx, "Users", `userName eq "ada@x.com"`)
	if err != nil || len(found) != 1 || found[0].ID() != u.ID() {
		t.Fatalf("find: %v %v", found, err)
	}
	if q := f.last.URL.RawQuery; q != "filter=userName+eq+%22ada%40x.com%22" {
		t.Errorf("find query %q, want Entra's encoding", q)
	}

	if err := c.Patch(ctx, "Users", u.ID(), []PatchOp{{Op: "Replace", Path: "active", Value: false}}); err != nil {
		t.Fatal(err)
	}
	var patch map[string]any
	_ = json.Unmarshal(f.lastBody, &patch)
	if want := `{"Operations":[{"op":"Replace","path":"active","value":false}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`; mustJSON(patch) != want {
		t.Errorf("PATCH body %s, want %s", f.lastBody, want)
	}

	_, err = c.Create(ctx, "Users", map[string]any{"userName": "ada@x.com"}, nil)
	if e := asError(t, err); e.Error() != `POST /Users: 409 Conflict (uniqueness): userName "ada@x.com" already exists` || e.Retryable {
		t.Errorf("duplicate: %q retryable %v", e.Error(), e.Retryable)
	}

	if err := c.Delete(ctx, "Users", u.ID()); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "Users", u.ID()); !IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
	if st := c.Stats(); st.Requests != 8 || st.Retries != 0 || st.Status[404] != 2 || st.Status[201] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBaseQueryKept: Entra's feature flags ride on the tenant URL's query.
func TestBaseQueryKept(t *testing.T) {
	f := newFake()
	c := newClient(t, start(t, f)+"?aadOptscim062020")
	if _, err := c.Find(context.Background(), "Users", `userName eq "x"`); err != nil {
		t.Fatal(err)
	}
	if q := f.last.URL.RawQuery; q != "aadOptscim062020&filter=userName+eq+%22x%22" {
		t.Fatalf("query %q", q)
	}
}

// script answers the first requests with the given statuses and headers,
// then passes them to next.
type script struct {
	mu      sync.Mutex
	answers []func(http.ResponseWriter)
	next    http.Handler
	seen    int
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen++
	var a func(http.ResponseWriter)
	if len(s.answers) > 0 {
		a, s.answers = s.answers[0], s.answers[1:]
	}
	s.mu.Unlock()
	if a != nil {
		a(w)
		return
	}
	s.next.ServeHTTP(w, r)
}

func status(code int, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		scimErr(w, code, "", "scripted "+http.StatusText(code))
	}
}

func repeat(n int, a func(http.ResponseWriter)) []func(http.ResponseWriter) {
	out := make([]func(http.ResponseWriter), n)
	for i := range out {
		out[i] = a
	}
	return out
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	t.Run("429 with Retry-After then success", func(t *testing.T) {
		s := &script{answers: []func(http.ResponseWriter){status(429, "Retry-After", "0")}, next: newFake()}
		c := newClient(t, start(t, s))
		if _, err := c.Find(ctx, "Users", `userName eq "x"`); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.Requests != 2 || st.Retries != 1 || st.Status[429] != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("500s then success", func(t *testing.T) {
		s := &script{answers: repeat(3, status(500)), next: newFake()}
		c := newClient(t, start(t, s))
		if err := c.Patch(ctx, "Users", "1", nil); !IsNotFound(err) {
			t.Fatalf("got %v, want the 404 behind the 500s", err)
		}
		if e := asError(t, c.Patch(ctx, "Users", "1", nil)); e.Attempts != 1 {
			t.Fatalf("attempts %d", e.Attempts)
		}
		if st := c.Stats(); st.Retries != 3 || st.Status[500] != 3 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("attempts exhausted", func(t *testing.T) {
		s := &script{answers: repeat(100, status(503)), next: newFake()}
		c := newClient(t, start(t, s), func(c *Config) { c.MaxAttempts = 3 })
		_, err := c.Get(ctx, "Users", "1")
		e := asError(t, err)
		if e.Status != 503 || !e.Retryable || e.Attempts != 3 || s.seen != 3 {
			t.Fatalf("got %+v after %d requests", e, s.seen)
		}
		if want := "GET /Users/1: 503 Service Unavailable: scripted Service Unavailable (after 3 attempts)"; e.Error() != want {
			t.Errorf("message %q, want %q", e.Error(), want)
		}
	})
	t.Run("400 not retried", func(t *testing.T) {
		s := &script{answers: repeat(100, status(400)), next: newFake()}
		c := newClient(t, start(t, s))
		e := asError(t, c.Delete(ctx, "Users", "1"))
		if e.Status != 400 || e.Retryable || e.Attempts != 1 || s.seen != 1 {
			t.Fatalf("got %+v after %d requests", e, s.seen)
		}
	})
	t.Run("cancel stops the wait", func(t *testing.T) {
		s := &script{answers: repeat(100, status(429, "Retry-After", "300")), next: newFake()}
		c := newClient(t, start(t, s))
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// Cancel once the 429 was read, while the client waits.
			for c.Stats().Status[429] == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err := c.Get(ctx, "Users", "1")
		e := asError(t, err)
		if !errors.Is(err, context.Canceled) || e.Status != 429 || e.Attempts != 1 {
			t.Fatalf("got %v (%+v)", err, e)
		}
	})
	t.Run("no wait past the deadline", func(t *testing.T) {
		// Retry-After is five minutes; the caller has one: the client
		// says so at once instead of sleeping into the deadline.
		s := &script{answers: repeat(100, status(429, "Retry-After", "300")), next: newFake()}
		c := newClient(t, start(t, s))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := c.Get(ctx, "Users", "1")
		if e := asError(t, err); e.Status != 429 || !e.Retryable || ctx.Err() != nil {
			t.Fatalf("got %+v", e)
		}
	})
}

// TestTimeout: an attempt that outlasts Timeout is abandoned and retried.
func TestTimeout(t *testing.T) {
	inj := faults.Wrap(newFake(), faults.Config{Slow: 1, Delay: time.Minute})
	c := newClient(t, start(t, inj), func(c *Config) { c.Timeout = 20 * time.Millisecond; c.MaxAttempts = 2 })
	_, err := c.Get(context.Background(), "Users", "1")
	e := asError(t, err)
	if !e.Retryable || e.Attempts != 2 || !strings.HasPrefix(err.Error(), "GET /Users/1: no answer in time: ") || inj.Stats()[faults.KindSlow] != 2 {
		t.Fatalf("got %q %+v, faults %v", err, e, inj.Stats())
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"3":     3 * time.Second,
		"0":     0,
		"86400": maxRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
		now.Add(time.Hour).Format(http.TimeFormat):        maxRetryAfter,
	} {
		got, ok := retryAfter(http.Header{"Retry-After": {in}}, now)
		if !ok || got != want {
			t.Errorf("Retry-After %q: %v %v, want %v", in, got, ok, want)
		}
	}
	if _, ok := retryAfter(http.Header{"Retry-After": {"soon"}}, now); ok {
		t.Error("Retry-After soon was understood")
	}
}

// TestCreateAfterDroppedAnswer: the target creates the user and the
// connection drops before the answer; the client must find that user
// rather than create a second one.
func TestCreateAfterDroppedAnswer(t *testing.T) {
	f := newFake()
	inj := faults.Wrap(f, faults.Config{DropAfter: 1, Methods: []string{"POST"}})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inj.ServeHTTP(w, r)
		if r.Method == "POST" {
			inj.SetConfig(faults.Config{}) // only the first POST is dropped
		}
	})
	c := newClient(t, start(t, h))
	var lookups atomic.Int64
	u, err := c.Create(context.Background(), "Users", map[string]any{"userName": "ada"}, findBy(c, "Users", "userName", "ada", &lookups))
	if err != nil {
		t.Fatal(err)
	}
	if u["userName"] != "ada" || u.ID() == "" {
		t.Fatalf("got %v", u)
	}
	if lookups.Load() != 1 || f.count("Users") != 1 || f.postCount() != 1 || inj.Stats()[faults.KindDropAfter] != 1 {
		t.Fatalf("lookups %d, users %d, posts %d, faults %v", lookups.Load(), f.count("Users"), f.postCount(), inj.Stats())
	}
	if st := c.Stats(); st.Lookups != 1 || st.TransportErrors != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCreateWithoutLookup: with no way to look, an ambiguous failure is
// reported instead of resent.
func TestCreateWithoutLookup(t *testing.T) {
	f := newFake()
	c := newClient(t, start(t, faults.Wrap(f, faults.Config{DropAfter: 1})))
	_, err := c.Create(context.Background(), "Users", map[string]any{"userName": "ada"}, nil)
	if e := asError(t, err); !e.Retryable || e.Status != 0 || e.Attempts != 1 || f.postCount() != 1 {
		t.Fatalf("got %+v, %d posts", e, f.postCount())
	}
}

// TestCreateConflictAfterAmbiguous: a 500 after the target stored the
// user, a lookup that misses (a lagging read replica), then a 409 on the
// resend: the client looks again and finds it.
func TestCreateConflictAfterAmbiguous(t *testing.T) {
	f := newFake()
	var posts atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && posts.Add(1) == 1 {
			f.ServeHTTP(httptest.NewRecorder(), r)
			scimErr(w, 500, "", "stored, then failed")
			return
		}
		f.ServeHTTP(w, r)
	})
	c := newClient(t, start(t, h))
	var calls atomic.Int64
	lookup := func(ctx context.Context) (Resource, error) {
		if calls.Add(1) == 1 {
			return nil, nil // the replica has not seen it yet
		}
		return findBy(c, "Users", "userName", "ada", nil)(ctx)
	}
	u, err := c.Create(context.Background(), "Users", map[string]any{"userName": "ada"}, lookup)
	if err != nil || u.ID() != "1" || calls.Load() != 2 || f.count("Users") != 1 {
		t.Fatalf("got %v %v after %d lookups, %d users", u, err, calls.Load(), f.count("Users"))
	}
}

// TestCreateLookupFails: when the lookup cannot tell whether the first
// attempt created the object, Create does not resend.
func TestCreateLookupFails(t *testing.T) {
	f := newFake()
	c := newClient(t, start(t, faults.Wrap(f, faults.Config{DropAfter: 1, Methods: []string{"POST"}})))
	_, err := c.Create(context.Background(), "Users", map[string]any{"userName": "ada"}, func(context.Context) (Resource, error) {
		return nil, errors.New("the directory is down")
	})
	e := asError(t, err)
	if !e.Retryable || f.postCount() != 1 || !strings.Contains(err.Error(), "resending could create a duplicate, and looking for the object first failed (the directory is down)") {
		t.Fatalf("got %q %+v after %d posts", err, e, f.postCount())
	}
	t.Log(err)
}

// TestCreateUnderFaults: 200 creates through a target that fails 30% of
// requests in every way give exactly 200 users.
func TestCreateUnderFaults(t *testing.T) {
	f := newFake()
	inj := faults.Wrap(f, faults.Config{Seed: 7, Drop: 0.075, TooMany: 0.075, RetryAfter: "0", ServerError: 0.075, DropAfter: 0.075})
	c := newClient(t, start(t, inj), func(c *Config) { c.MaxAttempts = 30 })
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Go(func() {
			name := fmt.Sprintf("user%03d", i)
			u, err := c.Create(context.Background(), "Users", map[string]any{"userName": name}, findBy(c, "Users", "userName", name, nil))
			if err == nil && u["userName"] != name {
				err = fmt.Errorf("created %s, got %v", name, u)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	names := map[any]bool{}
	f.mu.Lock()
	for _, u := range f.objs["Users"] {
		names[u["userName"]] = true
	}
	f.mu.Unlock()
	st := inj.Stats()
	if n := f.count("Users"); n != 200 || len(names) != 200 {
		t.Fatalf("%d users, %d names; faults %v", n, len(names), st)
	}
	if st[faults.KindDropAfter] == 0 || st[faults.KindDrop] == 0 || st[faults.KindServerError] == 0 || st[faults.KindTooMany] == 0 {
		t.Fatalf("not every fault happened: %v", st)
	}
	t.Logf("faults %v; client %+v", st, c.Stats())
}

// TestDeleteAfterDroppedAnswer: the first DELETE deleted and lost its
// answer; the resend's 404 means done.
func TestDeleteAfterDroppedAnswer(t *testing.T) {
	f := newFake()
	inj := faults.Wrap(f, faults.Config{DropAfter: 1, Methods: []string{"DELETE"}})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inj.ServeHTTP(w, r)
		if r.Method == "DELETE" {
			inj.SetConfig(faults.Config{})
		}
	})
	c := newClient(t, start(t, h))
	u, err := c.Create(context.Background(), "Users", map[string]any{"userName": "ada"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(context.Background(), "Users", u.ID()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); f.count("Users") != 0 || st.Status[404] != 1 {
		t.Fatalf("%d users, stats %+v", f.count("Users"), st)
	}
}

// TestConcurrencyBound: however many goroutines call, the target never
// sees more than Concurrency requests at once.
func TestConcurrencyBound(t *testing.T) {
	const limit = 4
	var n inflight
	full := make(chan struct{})
	var once sync.Once
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.enter()
		defer n.leave()
		if n.now.Load() >= limit {
			once.Do(func() { close(full) })
		}
		<-full // hold every request until the limit was reached once
		writeJSON(w, 200, map[string]any{"id": "1"})
	})
	c := newClient(t, start(t, h), func(c *Config) { c.Concurrency = limit })
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := c.Get(context.Background(), "Users", "1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := n.most.Load(); got != limit {
		t.Fatalf("at most %d in flight, want %d", got, limit)
	}
}

// TestRateLimit: requests wait for the limiter and stop waiting with ctx.
func TestRateLimit(t *testing.T) {
	c := newClient(t, start(t, newFake()), func(c *Config) { c.RateLimit = 0.001 })
	if _, err := c.Get(context.Background(), "Users", "1"); !IsNotFound(err) {
		t.Fatal(err)
	}
	// The next token is 1000s away.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "Users", "1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want canceled", err)
	}
}

func TestOAuth(t *testing.T) {
	f := newFake()
	var fetches atomic.Int64
	var badAuth atomic.Value
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "roster%2Fjob" || secret != "p%40ss%3Aword" || r.PostFormValue("grant_type") != "client_credentials" ||
			r.PostFormValue("scope") != "scim" || r.PostFormValue("client_secret") != "" {
			badAuth.Store(fmt.Sprintf("%q %q %v %v", id, secret, ok, r.PostForm))
			writeJSON(w, 401, map[string]any{"error": "invalid_client"})
			return
		}
		n := fetches.Add(1)
		writeJSON(w, 200, map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer", "expires_in": 3600})
	}))
	defer tokens.Close()
	f.token = "tok-1"
	c := newClient(t, start(t, f), func(c *Config) {
		c.Token = ""
		c.OAuth = &OAuth{TokenURL: tokens.URL + "/token", ClientID: "roster/job", ClientSecret: "p@ss:word", Scope: "scim"}
	})
	ctx := context.Background()
	for range 3 {
		if _, err := c.Find(ctx, "Users", `userName eq "x"`); err != nil {
			t.Fatal(err, badAuth.Load())
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("%d token fetches for 3 requests, want 1", fetches.Load())
	}
	// The target revokes tok-1: the next request gets a 401, and the
	// client fetches tok-2 and resends.
	f.mu.Lock()
	f.token = "tok-2"
	f.mu.Unlock()
	if _, err := c.Find(ctx, "Users", `userName eq "x"`); err != nil {
		t.Fatal(err)
	}
	if fetches.Load() != 2 {
		t.Fatalf("%d token fetches, want 2", fetches.Load())
	}
	// A target that rejects every token: one refetch, then the 401.
	f.mu.Lock()
	f.token = "never"
	f.mu.Unlock()
	_, err := c.Find(ctx, "Users", `userName eq "x"`)
	if e := asError(t, err); e.Status != 401 || fetches.Load() != 3 {
		t.Fatalf("got %v after %d fetches", err, fetches.Load())
	}
	if strings.Contains(err.Error(), "tok-3") || strings.Contains(err.Error(), "p@ss:word") {
		t.Fatalf("error shows a secret: %v", err)
	}

	bad := newClient(t, start(t, f), func(c *Config) {
		c.Token = ""
		c.OAuth = &OAuth{TokenURL: tokens.URL + "/token", ClientID: "roster/job", ClientSecret: "wrong-secret", Scope: "scim"}
	})
	_, err = bad.Get(ctx, "Users", "1")
	e := asError(t, err)
	if e.Retryable || e.Attempts != 1 || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("got %q %+v", err, e)
	}
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*fakeSCIM)
	}{
		{"target caps count at 50", func(f *fakeSCIM) { f.maxCount = 50 }},
		{"target ignores count", func(f *fakeSCIM) { f.ignoreCount = true }},
		{"target honours count", func(f *fakeSCIM) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			c := newClient(t, start(t, f))
			for i := range 250 {
				if _, err := c.Create(context.Background(), "Groups", map[string]any{"displayName": fmt.Sprintf("g%d", i)}, nil); err != nil {
					t.Fatal(err)
				}
			}
			tc.set(f)
			before := c.Stats().Requests
			seen := map[any]int{}
			err := c.List(context.Background(), "Groups", "", []string{"displayName"}, func(r map[string]any) error {
				seen[r["id"]]++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != 250 {
				t.Fatalf("listed %d distinct groups, want 250", len(seen))
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("group %v listed %d times", id, n)
				}
			}
			if q := f.last.URL.Query(); q.Get("attributes") != "displayName" || q.Get("count") != "100" {
				t.Errorf("query %v", q)
			}
			t.Logf("%d pages", c.Stats().Requests-before)
		})
	}
	t.Run("target ignores startIndex", func(t *testing.T) {
		f := newFake()
		c := newClient(t, start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			q.Del("startIndex")
			r.URL.RawQuery = q.Encode()
			f.ServeHTTP(w, r)
		})))
		for i := range 150 {
			if _, err := c.Create(context.Background(), "Users", map[string]any{"userName": fmt.Sprint(i)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		f.mu.Lock()
		f.ignoreCount = true // and answers everything on every page, without totalResults' help
		f.mu.Unlock()
		n := 0
		err := c.List(context.Background(), "Users", "", nil, func(map[string]any) error { n++; return nil })
		if err != nil || n != 150 {
			t.Fatalf("got %d users, %v", n, err)
		}
		f.mu.Lock()
		f.ignoreCount = false
		f.mu.Unlock()
		err = c.List(context.Background(), "Users", "", nil, func(map[string]any) error { return nil })
		if e := asError(t, err); !strings.Contains(e.Detail, "startIndex") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("filter and stop", func(t *testing.T) {
		f := newFake()
		c := newClient(t, start(t, f))
		for _, n := range []string{"a", "b"} {
			if _, err := c.Create(context.Background(), "Users", map[string]any{"userName": n}, nil); err != nil {
				t.Fatal(err)
			}
		}
		var got []any
		err := c.List(context.Background(), "Users", `userName eq "b"`, nil, func(r map[string]any) error {
			got = append(got, r["userName"])
			return nil
		})
		if err != nil || len(got) != 1 || got[0] != "b" {
			t.Fatalf("got %v %v", got, err)
		}
		stop := errors.New("stop")
		if err := c.List(context.Background(), "Users", "", nil, func(map[string]any) error { return stop }); err != stop {
			t.Fatalf("got %v, want fn's error", err)
		}
	})
}

func TestTestConnection(t *testing.T) {
	fakeWith := func(h http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r) })
	}
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()
	tlsSrv := httptest.NewTLSServer(newFake())
	defer tlsSrv.Close()

	for _, tc := range []struct {
		name  string
		base  func(t *testing.T) string
		token string
		ok    bool
		want  string // in the first check's Detail
	}{
		{"ok", func(t *testing.T) string { return start(t, newFake()) }, fakeToken, true, "200 OK with an empty ListResponse"},
		{"bad token", func(t *testing.T) string { return start(t, newFake()) }, "wrong-token-1234", false, "401 Unauthorized"},
		{"not the tenant path", func(t *testing.T) string { return strings.TrimSuffix(start(t, newFake()), "/scim/t1") + "/v1" }, fakeToken, false,
			"the URL does not point at a SCIM endpoint; it should end with the tenant path"},
		{"not JSON", func(t *testing.T) string {
			return start(t, fakeWith(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html>Sign in</html>"))
			}))
		}, fakeToken, false, "not JSON"},
		{"filter ignored", func(t *testing.T) string {
			f := newFake()
			f.objs["Users"]["1"] = map[string]any{"id": "1", "userName": "ada"}
			f.objs["Groups"]["1"] = map[string]any{"id": "1", "displayName": "staff"}
			return start(t, fakeWith(func(w http.ResponseWriter, r *http.Request) {
				r.URL.RawQuery = "" // a target that drops the filter
				f.ServeHTTP(w, r)
			}))
		}, fakeToken, false, "returned 1 result(s)"},
		{"no totalResults", func(t *testing.T) string {
			return start(t, fakeWith(func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, map[string]any{"schemas": []string{schemaListResponse}, "Resources": []any{}})
			}))
		}, fakeToken, false, "no totalResults"},
		{"not a ListResponse", func(t *testing.T) string {
			return start(t, fakeWith(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []any{}) }))
		}, fakeToken, false, "JSON that is not a SCIM ListResponse"},
		{"connection refused", func(t *testing.T) string { return refusedURL + "/scim/t1" }, fakeToken, false,
			"connection refused: is the server at " + refusedURL + " running?"},
		{"untrusted certificate", func(t *testing.T) string { return tlsSrv.URL + "/scim/t1" }, fakeToken, false,
			"the server's TLS certificate is not trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.base(t), func(c *Config) { c.Token = tc.token })
			checks := c.TestConnection(context.Background())
			if len(checks) != 2 {
				t.Fatalf("%d checks", len(checks))
			}
			for _, ch := range checks {
				if ch.OK != tc.ok {
					t.Errorf("%s: OK %v: %s", ch.Name, ch.OK, ch.Detail)
				}
				if strings.Contains(ch.Detail, tc.token) {
					t.Errorf("%s shows the token: %s", ch.Name, ch.Detail)
				}
			}
			if !strings.Contains(checks[0].Detail, tc.want) {
				t.Errorf("detail %q, want %q", checks[0].Detail, tc.want)
			}
			if !strings.HasPrefix(checks[0].Detail, `GET /Users?filter=userName eq "`) ||
				!strings.HasPrefix(checks[1].Detail, `GET /Groups?filter=displayName eq "`) ||
				!strings.Contains(checks[1].Detail, "&excludedAttributes=members") {
				t.Errorf("details %q, %q", checks[0].Detail, checks[1].Detail)
			}
			t.Log(checks[0].Detail)
		})
	}
}

// TestErrorsHideToken: whatever the target echoes and however a request
// fails, no error shows the token.
func TestErrorsHideToken(t *testing.T) {
	const token = "tok-abcdef-0123456789"
	f := newFake()
	f.token = "another"
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scimErr(w, 500, "", "broken; you sent "+r.Header.Get("Authorization"))
	})
	refused := httptest.NewServer(echo)
	refused.Close()
	ctx := context.Background()
	for name, base := range map[string]string{
		"401 echo": start(t, f), "500 echo": start(t, echo), "refused": refused.URL,
	} {
		c := newClient(t, base, func(c *Config) { c.Token = token; c.MaxAttempts = 2 })
		_, err := c.Get(ctx, "Users", "1")
		if err == nil || strings.Contains(err.Error(), token) || strings.Contains(asError(t, err).Detail, token) {
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestTransportMessages checks the plain words for failures without an
// answer.
func TestTransportMessages(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(newFake())
	defer tlsSrv.Close()
	c := newClient(t, tlsSrv.URL+"/scim/t1")
	_, err := c.Get(context.Background(), "Users", "1")
	e := asError(t, err)
	if e.Retryable || e.Attempts != 1 || !strings.HasPrefix(err.Error(), "GET /Users/1: the server's TLS certificate is not trusted: ") {
		t.Fatalf("got %q %+v", err, e)
	}

	// A port with nothing listening: refused, retried, then reported.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c = newClient(t, "http://"+addr+"/scim/t1", func(c *Config) { c.MaxAttempts = 2 })
	err = c.Delete(context.Background(), "Users", "1")
	want := "DELETE /Users/1: connection refused: is the server at http://" + addr + " running? (after 2 attempts)"
	if e := asError(t, err); err.Error() != want || !e.Retryable {
		t.Fatalf("got %q, want %q", err, want)
	}
}
