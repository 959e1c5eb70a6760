package faults

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// counting is a handler that counts the requests it handled.
type counting struct{ n atomic.Int64 }

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"id":"1"}`))
}

// serve starts a server with the injector in front of a counting handler
// and returns it with a client that opens a new connection per request, so
// that Go's transport never retries a request on its own.
func serve(t *testing.T, cfg Config) (*httptest.Server, *Injector, *counting, *http.Client) {
	t.Helper()
	h := &counting{}
	inj := Wrap(h, cfg)
	srv := httptest.NewServer(inj)
	t.Cleanup(srv.Close)
	return srv, inj, h, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func post(c *http.Client, url string) (*http.Response, error) {
	return c.Post(url, "application/scim+json", strings.NewReader(`{"userName":"ada"}`))
}

func TestEachKind(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		status  int  // expected status; 0 for a dropped connection
		handled bool // whether the real handler ran
		kind    string
	}{
		{"pass", Config{}, 201, true, KindPassed},
		{"too many", Config{TooMany: 1, RetryAfter: "7"}, 429, false, KindTooMany},
		{"server error", Config{ServerError: 1}, 500, false, KindServerError},
		{"drop", Config{Drop: 1}, 0, false, KindDrop},
		{"drop after", Config{DropAfter: 1}, 0, true, KindDropAfter},
		{"slow", Config{Slow: 1, Delay: time.Millisecond}, 201, true, KindPassed},
		{"other method", Config{TooMany: 1, Methods: []string{"GET"}}, 201, true, KindPassed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, inj, h, c := serve(t, tc.cfg)
			resp, err := post(c, srv.URL)
			if tc.status == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got %s, want a dropped connection", resp.Status)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
				}
				if tc.status == 429 && resp.Header.Get("Retry-After") != "7" {
					t.Errorf("Retry-After %q, want 7", resp.Header.Get("Retry-After"))
				}
			}
			if got := h.n.Load() == 1; got != tc.handled {
				t.Errorf("handler ran: %v, want %v", got, tc.handled)
			}
			if st := inj.Stats(); st[tc.kind] != 1 {
				t.Errorf("stats %v, want one %s", st, tc.kind)
			}
			if tc.name == "slow" && inj.Stats()[KindSlow] != 1 {
				t.Errorf("stats %v, want one slow", inj.Stats())
			}
		})
	}
}

func TestDefaultRetryAfter(t *testing.T) {
	rec := httptest.NewRecorder()
	Wrap(&counting{}, Config{TooMany: 1}).ServeHTTP(rec, httptest.NewRequest("GET", "/Users", nil))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("got %d Retry-After %q, want 429 with 1", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// TestDeterministic: the same seed and request order give the same faults.
func TestDeterministic(t *testing.T) {
	run := func(seed int64) string {
		inj := Wrap(&counting{}, Config{Seed: seed, TooMany: 0.3, ServerError: 0.3})
		var b strings.Builder
		for range 200 {
			rec := httptest.NewRecorder()
			inj.ServeHTTP(rec, httptest.NewRequest("GET", "/Users", nil))
			b.WriteByte("0123456789"[rec.Code/100])
		}
		return b.String()
	}
	a, b, c := run(1), run(1), run(2)
	if a != b {
		t.Fatal("same seed, different faults")
	}
	if a == c {
		t.Fatal("different seeds, same faults")
	}
	if n := strings.Count(a, "2"); n < 50 || n > 110 {
		t.Fatalf("%d of 200 passed with 60%% faults", n)
	}
}

func TestSetConfigHeals(t *testing.T) {
	inj := Wrap(&counting{}, Config{ServerError: 1})
	do := func() int {
		rec := httptest.NewRecorder()
		inj.ServeHTTP(rec, httptest.NewRequest("GET", "/Users", nil))
		return rec.Code
	}
	if got := do(); got != 500 {
		t.Fatalf("got %d, want 500", got)
	}
	inj.SetConfig(Config{})
	if got := do(); got != 201 {
		t.Fatalf("after healing got %d, want 201", got)
	}
	if st := inj.Stats(); st[KindServerError] != 1 || st[KindPassed] != 1 {
		t.Fatalf("stats %v", st)
	}
}
