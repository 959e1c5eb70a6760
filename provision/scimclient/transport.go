package scimclient

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Stats counts what the client sent and got. Status is a copy.
type Stats struct {
	// Requests counts attempts sent, retries included.
	Requests int
	// Retries counts attempts after a request's first.
	Retries int
	// Lookups counts lookups a Create made instead of resending blindly.
	Lookups int
	// Status counts answers by HTTP status code.
	Status map[int]int
	// TransportErrors counts attempts that got no answer.
	TransportErrors int
}

// Stats returns the counts so far. It is safe for concurrent use.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Status = make(map[int]int, len(c.stats.Status))
	for k, v := range c.stats.Status {
		s.Status[k] = v
	}
	return s
}

// request is one logical request, which may be sent several times.
type request struct {
	method string
	path   string // relative to the tenant URL: /Users, /Users/{id}
	query  url.Values
	body   []byte
	// lookup, for a POST, finds the object an earlier attempt may have
	// created; see Create.
	lookup func(context.Context) (Resource, error)
}

// response is a final answer: a 2xx, or found when a Create's lookup
// found the object an earlier attempt created.
type response struct {
	status int
	header http.Header
	body   []byte
	found  Resource
}

// resource decodes the answer as one resource.
func (r *response) resource(c *Client, method, path string) (Resource, error) {
	var res Resource
	if err := decode(r.body, &res); err != nil {
		return nil, &Error{Method: method, Path: path, Status: r.status, server: c.server,
			Detail: "the answer is not a SCIM resource: " + err.Error()}
	}
	return res, nil
}

// roundTrip sends r until it gets a final answer, retrying what may
// succeed later. It returns a 2xx answer, or an *Error. ambiguous reports
// that some attempt failed after it may have reached the target, which
// Create and Delete need to interpret what follows.
func (c *Client) roundTrip(ctx context.Context, r *request) (resp *response, ambiguous bool, err error) {
	var (
		last      *Error
		attempts  int
		refreshed bool // an OAuth token was refetched after a 401
	)
	for {
		if ambiguous && r.method == "POST" {
			if r.lookup == nil {
				return nil, true, last
			}
			found, err := c.lookup(ctx, r.lookup)
			if err != nil {
				e := *last
				e.Detail = strings.TrimPrefix(e.Detail+"; ", "; ") + "resending could create a duplicate, and looking for the object first failed (" + err.Error() + ")"
				return nil, true, c.scrub(&e)
			}
			if found != nil {
				return &response{found: found}, true, nil
			}
		}
		attempts++
		if attempts > 1 {
			c.count(func(s *Stats) { s.Retries++ })
		}
		ans, wrote, err := c.attempt(ctx, r)
		var wait time.Duration
		switch {
		case err == nil && ans.status < 300:
			return &ans.response, ambiguous, nil
		case ctx.Err() != nil:
			return nil, ambiguous, c.giveUp(r, last, attempts, ctx.Err())
		case err != nil:
			e := c.newError(r, attempts)
			e.Err, e.Retryable = err, !permanent(err)
			if !e.Retryable {
				return nil, ambiguous, e
			}
			// A request that was not written cannot have done anything.
			ambiguous = ambiguous || wrote
			last, wait = e, c.backoffFor(attempts)
		default:
			e := c.statusError(r, ans, attempts)
			ra, hasRA := retryAfter(ans.header, time.Now())
			switch {
			case ans.status == http.StatusUnauthorized && c.oauth != nil && !refreshed:
				// The token may have been revoked or expired early: get a
				// new one and try again at once, but only once.
				refreshed = true
				c.oauth.invalidate(ans.token)
				last = e
				continue
			case ans.status == http.StatusTooManyRequests && hasRA:
				c.pause(ra)
				wait = ra
			case ans.status == http.StatusServiceUnavailable && hasRA:
				// An overloaded target that says when to come back has
				// not processed the request.
				wait = ra
			case ans.status == http.StatusTooManyRequests, ans.status == http.StatusRequestTimeout:
				wait = c.backoffFor(attempts)
			case ans.status >= 500 && ans.status != http.StatusNotImplemented:
				ambiguous = true
				wait = c.backoffFor(attempts)
				if hasRA {
					wait = ra
				}
			default:
				e.Retryable = false
				return nil, ambiguous, e
			}
			e.Retryable = true
			last = e
		}
		if attempts >= c.maxAttempts {
			return nil, ambiguous, last
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would outlast the caller: say why now.
			return nil, ambiguous, last
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, ambiguous, c.giveUp(r, last, attempts, err)
		}
	}
}

// giveUp is the error for a request whose caller stopped waiting: the
// last failure, if any, with the context's error attached.
func (c *Client) giveUp(r *request, last *Error, attempts int, ctxErr error) *Error {
	e := c.newError(r, attempts)
	g := &gaveUp{ctx: ctxErr}
	if last != nil {
		copied := *last
		e = &copied
		if last.Err != nil {
			g.last = describe(last.Err, c.server)
		}
	}
	e.Attempts, e.Retryable, e.Err = attempts, true, g
	return e
}

// gaveUp is the context's error when the caller stopped a request, with
// the failure that was being retried.
type gaveUp struct {
	ctx  error
	last string
}

func (g *gaveUp) Error() string {
	if g.last == "" {
		return "gave up: " + g.ctx.Error()
	}
	return "gave up (" + g.ctx.Error() + ") while retrying after: " + g.last
}

func (g *gaveUp) Unwrap() error { return g.ctx }

// newError starts an *Error for r.
func (c *Client) newError(r *request, attempts int) *Error {
	return &Error{Method: r.method, Path: r.path, Attempts: attempts, server: c.server, secrets: c.secrets()}
}

// statusError turns an error answer into an *Error, with the SCIM error
// body's scimType and detail when there is one.
func (c *Client) statusError(r *request, ans *attemptAnswer, attempts int) *Error {
	e := c.newError(r, attempts)
	e.Status = ans.status
	var body scimError
	if decode(ans.body, &body) == nil {
		e.SCIMType, e.Detail = body.SCIMType, body.Detail
	} else if ct := ans.header.Get("Content-Type"); strings.HasPrefix(ct, "text/plain") && len(ans.body) < 500 {
		e.Detail = strings.TrimSpace(string(ans.body))
	}
	return c.scrub(e)
}

// secrets returns the strings no error may contain.
func (c *Client) secrets() []string {
	if c.oauth != nil {
		return c.oauth.secrets()
	}
	return []string{c.token}
}

// scrub removes secrets from what a target echoed into its error detail.
func (c *Client) scrub(e *Error) *Error {
	e.Detail = redact(e.Detail, e.secrets)
	return e
}

// redact replaces each secret in s.
func redact(s string, secrets []string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

// attempt sends r once, within the concurrency and rate limits. wrote
// reports whether the request was written to the connection, so that a
// failure before that is known not to have reached the target.
func (c *Client) attempt(ctx context.Context, r *request) (ans *attemptAnswer, wrote bool, err error) {
	if err := c.waitPause(ctx); err != nil {
		return nil, false, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	defer func() { <-c.sem }()
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, false, err
		}
	}
	token := c.token
	if c.oauth != nil {
		tctx, cancel := context.WithTimeout(ctx, c.timeout)
		token, err = c.oauth.get(tctx)
		cancel()
		if err != nil {
			return nil, false, err
		}
	}

	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var written atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { written.Store(true) },
	})
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, c.url(r), body)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/scim+json, application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	c.count(func(s *Stats) { s.Requests++ })
	resp, err := c.http.Do(req)
	if err != nil {
		c.count(func(s *Stats) { s.TransportErrors++ })
		return nil, written.Load(), err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		c.count(func(s *Stats) { s.TransportErrors++ })
		return nil, true, err
	}
	c.count(func(s *Stats) { s.Status[resp.StatusCode]++ })
	return &attemptAnswer{response: response{status: resp.StatusCode, header: resp.Header, body: data}, token: token}, true, nil
}

// attemptAnswer is an answer with the token the request carried, so that
// a 401 invalidates that token and not a newer one.
type attemptAnswer struct {
	response
	token string
}

// url is the full URL of r: the tenant URL's path with r's appended, and
// the tenant URL's query (Entra's feature flags) before r's.
func (c *Client) url(r *request) string {
	u := *c.base
	u.Path += r.path
	// Encode writes spaces as + and quotes as %22, as Entra does.
	q := r.query.Encode()
	switch {
	case u.RawQuery != "" && q != "":
		u.RawQuery += "&" + q
	case q != "":
		u.RawQuery = q
	}
	return u.String()
}

// count updates the stats under the lock.
func (c *Client) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// pause holds every request back for d, the target's Retry-After.
func (c *Client) pause(d time.Duration) {
	until := time.Now().Add(d)
	c.mu.Lock()
	if until.After(c.pauseUntil) {
		c.pauseUntil = until
	}
	c.mu.Unlock()
}

// waitPause waits out a pause the target asked for.
func (c *Client) waitPause(ctx context.Context) error {
	c.mu.Lock()
	d := time.Until(c.pauseUntil)
	c.mu.Unlock()
	return sleep(ctx, d)
}

// backoffFor is the wait after the nth failed attempt: exponential, capped,
// with full jitter (a random wait between 0 and the cap), so that clients
// that failed together do not retry together.
func (c *Client) backoffFor(n int) time.Duration {
	d := maxBackoff
	if n < 32 && c.backoff<<(n-1) < maxBackoff && c.backoff<<(n-1) > 0 {
		d = c.backoff << (n - 1)
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date,
// capped at maxRetryAfter.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
