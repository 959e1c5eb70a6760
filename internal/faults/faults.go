// Package faults wraps an http.Handler so that a share of its requests
// fail the way real networks and overloaded SCIM apps fail: 429s, 500s,
// slow answers, connections dropped before the request is handled, and
// connections dropped after it was handled but before the answer left (the
// case a client cannot tell from the first, and that makes a blindly
// retried POST create a duplicate). Tests of the SCIM client and the
// provisioning engine use it to prove they survive such a target.
//
// Faults are drawn from a generator seeded with Config.Seed, so a run is
// reproducible as long as requests arrive in the same order.
package faults

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config sets how often each fault happens. Rates are fractions of the
// affected requests, from 0 to 1. Drop, TooMany, ServerError and DropAfter
// exclude one another (their sum should not exceed 1); Slow is drawn
// separately and can delay a request that then fails another way.
type Config struct {
	Seed int64
	// TooMany is the fraction answered 429 with Retry-After: RetryAfter
	// ("1" when empty) before reaching the handler.
	TooMany    float64
	RetryAfter string
	// ServerError is the fraction answered 500 before reaching the handler.
	ServerError float64
	// Slow is the fraction delayed by Delay before being handled; the delay
	// ends early when the client goes away.
	Slow  float64
	Delay time.Duration
	// Drop is the fraction whose connection is closed without an answer
	// before reaching the handler.
	Drop float64
	// DropAfter is the fraction handled by the real handler whose
	// connection is then closed without its answer: the write happened and
	// the client does not know.
	DropAfter float64
	// Methods are the methods affected; empty means all.
	Methods []string
}

// Kinds of fault, as Stats names them.
const (
	KindTooMany     = "too_many"
	KindServerError = "server_error"
	KindSlow        = "slow"
	KindDrop        = "drop"
	KindDropAfter   = "drop_after"
	// KindPassed counts requests whose handler's answer was sent, slowed
	// or not.
	KindPassed = "passed"
)

// Injector is an http.Handler that injects faults in front of another. It
// is safe for concurrent use.
type Injector struct {
	next http.Handler

	mu    sync.Mutex
	cfg   Config
	rng   *rand.Rand
	stats map[string]int
}

// Wrap returns an Injector that passes requests to next unless cfg says to
// fail them.
func Wrap(next http.Handler, cfg Config) *Injector {
	seed := uint64(cfg.Seed)
	return &Injector{
		next:  next,
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		stats: map[string]int{},
	}
}

// SetConfig changes the rates from now on, for example to heal the target
// in the middle of a test. The random sequence goes on; Seed is ignored.
func (i *Injector) SetConfig(cfg Config) {
	i.mu.Lock()
	i.cfg = cfg
	i.mu.Unlock()
}

// Stats returns how many faults of each kind were injected and how many
// requests passed through (KindPassed).
func (i *Injector) Stats() map[string]int {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make(map[string]int, len(i.stats))
	for k, v := range i.stats {
		out[k] = v
	}
	return out
}

// decision is what happens to one request.
type decision struct {
	slow       time.Duration
	fault      string // "" to pass the request through
	retryAfter string
}

// decide draws the fate of a request. It always draws two numbers for an
// affected request, whatever the rates, so that changing one rate does not
// shift the faults drawn for the requests that follow.
func (i *Injector) decide(method string) decision {
	i.mu.Lock()
	defer i.mu.Unlock()
	c := i.cfg
	if len(c.Methods) > 0 && !slices.ContainsFunc(c.Methods, func(m string) bool { return strings.EqualFold(m, method) }) {
		i.stats[KindPassed]++
		return decision{}
	}
	var d decision
	if i.rng.Float64() < c.Slow && c.Delay > 0 {
		d.slow = c.Delay
		i.stats[KindSlow]++
	}
	u := i.rng.Float64()
	for _, k := range []struct {
		kind string
		rate float64
	}{{KindDrop, c.Drop}, {KindTooMany, c.TooMany}, {KindServerError, c.ServerError}, {KindDropAfter, c.DropAfter}} {
		if u < k.rate {
			d.fault = k.kind
			break
		}
		u -= k.rate
	}
	if d.fault == "" {
		i.stats[KindPassed]++
	} else {
		i.stats[d.fault]++
	}
	d.retryAfter = c.RetryAfter
	if d.retryAfter == "" {
		d.retryAfter = "1"
	}
	return d
}

// ServeHTTP implements http.Handler.
func (i *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := i.decide(r.Method)
	if d.slow > 0 {
		t := time.NewTimer(d.slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch d.fault {
	case KindDrop:
		hangUp(w)
	case KindTooMany:
		w.Header().Set("Retry-After", d.retryAfter)
		writeError(w, http.StatusTooManyRequests, "too many requests (injected fault)")
	case KindServerError:
		writeError(w, http.StatusInternalServerError, "internal server error (injected fault)")
	case KindDropAfter:
		// The handler does its work for real; only its answer is lost.
		i.next.ServeHTTP(httptest.NewRecorder(), r)
		hangUp(w)
	default:
		i.next.ServeHTTP(w, r)
	}
}

// hangUp closes the client's connection without an answer. Where the
// connection cannot be hijacked (HTTP/2), aborting the handler resets the
// stream, which the client sees the same way.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// writeError answers with a SCIM error body, as a real SCIM app would.
func writeError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	// detail is one of the constant strings above: no escaping needed.
	_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"` +
		strconv.Itoa(status) + `","detail":"` + detail + `"}`))
}
