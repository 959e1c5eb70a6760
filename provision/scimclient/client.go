// Package scimclient is the HTTP client the provisioning engine uses to
// talk to a SCIM 2.0 app (the target), and to read a SCIM source. It sends
// the requests Entra's provisioning service sends
// (../../shared/reference/entra-scim-client.md) and absorbs what a busy or
// flaky target does to them: it retries 429s, 5xx answers, timeouts and
// dropped connections with backoff, bounds the requests in flight and per
// second, fetches and renews OAuth tokens, and never lets a retried create
// make a second object.
//
// Errors are *Error, whose message a person can act on and which never
// holds the token or client secret.
package scimclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config is how to reach a target and how hard to push it.
type Config struct {
	// BaseURL is the tenant URL, such as https://host/v1/scim/ID; /Users
	// and /Groups are appended to its path. A query (Entra's feature flags
	// such as ?aadOptscim062020) is kept on every request.
	BaseURL string
	// Token is a static bearer token. Exactly one of Token and OAuth is set.
	Token string
	// OAuth gets tokens with the client-credentials grant; a token is
	// cached until shortly before it expires and fetched again, once per
	// request, when the target answers 401.
	OAuth *OAuth
	// Concurrency is the most requests in flight at once, across all the
	// goroutines that share the client; 8 when 0.
	Concurrency int
	// RateLimit is the most requests started per second; 0 is no limit.
	RateLimit float64
	// Timeout bounds one attempt, answer body included; 30s when 0.
	Timeout time.Duration
	// MaxAttempts is how often one request is sent at most, the first try
	// included; 5 when 0.
	MaxAttempts int
	// Backoff is the base of the exponential backoff between attempts,
	// with full jitter, capped at 30s; 500ms when 0.
	Backoff time.Duration
	// HTTPClient sends the requests; when nil, one with keep-alive and
	// enough idle connections per host for Concurrency.
	HTTPClient *http.Client
	// UserAgent is sent when not empty.
	UserAgent string
}

// Defaults and caps.
const (
	defaultConcurrency = 8
	defaultTimeout     = 30 * time.Second
	defaultAttempts    = 5
	defaultBackoff     = 500 * time.Millisecond
	maxBackoff         = 30 * time.Second
	// maxRetryAfter caps a target's Retry-After, so that a typo or a
	// hostile answer ("Retry-After: 86400") cannot park a job for a day.
	maxRetryAfter = 5 * time.Minute
	// maxBody bounds an answer read into memory: a page of 100 users is
	// far less, a runaway answer is not.
	maxBody = 64 << 20
)

// Client talks to one SCIM target. It is safe for concurrent use, and
// meant to be shared by all of a job's goroutines so that its limits hold
// for the job as a whole.
type Client struct {
	base    *url.URL
	server  string // scheme://host, for messages
	token   string
	oauth   *tokenSource
	http    *http.Client
	sem     chan struct{}
	limiter *rate.Limiter

	timeout     time.Duration
	maxAttempts int
	backoff     time.Duration
	userAgent   string

	mu sync.Mutex
	// pauseUntil holds every request back after a 429 with Retry-After,
	// since the target throttles the job, not one goroutine.
	pauseUntil time.Time
	stats      Stats
}

// Close closes the client's idle keep-alive connections: a cycle is over,
// and the next one is 40 minutes away. The client stays usable.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Resource is a SCIM resource as decoded with json.Decoder.UseNumber:
// numbers are json.Number.
type Resource map[string]any

// ID returns the resource's id, "" when it has none.
func (r Resource) ID() string {
	id, _ := r["id"].(string)
	return id
}

// PatchOp is one operation of a SCIM PATCH (RFC 7644 §3.5.2).
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// SCIM message schemas.
const (
	schemaPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
)

// New checks cfg and returns a client. It sends nothing: TestConnection
// does.
func New(cfg Config) (*Client, error) {
	base, err := checkURL("BaseURL", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if (cfg.Token == "") == (cfg.OAuth == nil) {
		return nil, errors.New("scimclient: set exactly one of Token (a bearer token) and OAuth (client credentials)")
	}
	if cfg.OAuth != nil {
		if _, err := checkURL("OAuth.TokenURL", cfg.OAuth.TokenURL); err != nil {
			return nil, err
		}
		if cfg.OAuth.ClientID == "" || cfg.OAuth.ClientSecret == "" {
			return nil, errors.New("scimclient: OAuth needs a client id and a client secret")
		}
	}
	if cfg.Concurrency < 0 || cfg.RateLimit < 0 || cfg.Timeout < 0 || cfg.MaxAttempts < 0 || cfg.Backoff < 0 {
		return nil, errors.New("scimclient: Concurrency, RateLimit, Timeout, MaxAttempts and Backoff must not be negative")
	}
	c := &Client{
		base:        base,
		server:      base.Scheme + "://" + base.Host,
		token:       cfg.Token,
		timeout:     or(cfg.Timeout, defaultTimeout),
		maxAttempts: or(cfg.MaxAttempts, defaultAttempts),
		backoff:     or(cfg.Backoff, defaultBackoff),
		userAgent:   cfg.UserAgent,
		stats:       Stats{Status: map[int]int{}},
	}
	n := or(cfg.Concurrency, defaultConcurrency)
	c.sem = make(chan struct{}, n)
	c.http = cfg.HTTPClient
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = max(n, t.MaxIdleConnsPerHost)
		t.MaxIdleConns = max(n, t.MaxIdleConns)
		c.http = &http.Client{Transport: t}
	}
	if cfg.RateLimit > 0 {
		// A burst of one: "at most N per second" should hold over any
		// second, not on average after an idle spell.
		c.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), 1)
	}
	if cfg.OAuth != nil {
		c.oauth = newTokenSource(*cfg.OAuth, c.http)
	}
	return c, nil
}

// or returns v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// checkURL parses an absolute http or https URL from the configuration.
func checkURL(name, s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil:
		return nil, fmt.Errorf("scimclient: %s is not a URL: %v", name, err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("scimclient: %s %q must be an absolute http:// or https:// URL, such as https://host/v1/scim/<id>", name, s)
	case u.User != nil:
		return nil, fmt.Errorf("scimclient: %s must not hold credentials; put them in Token or OAuth", name)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.Fragment = ""
	return u, nil
}

// Get returns one resource by id. A missing one is an *Error with Status
// 404 (see IsNotFound).
func (c *Client) Get(ctx context.Context, resourceType, id string, excludedAttributes ...string) (Resource, error) {
	q := url.Values{}
	if len(excludedAttributes) > 0 {
		q.Set("excludedAttributes", strings.Join(excludedAttributes, ","))
	}
	resp, _, err := c.roundTrip(ctx, &request{method: "GET", path: objectPath(resourceType, id), query: q})
	if err != nil {
		return nil, err
	}
	return resp.resource(c, "GET", objectPath(resourceType, id))
}

// Find returns the resources that match filter, from one page of the
// answer: it is for matching, where more than a handful of results is
// itself the problem to report.
func (c *Client) Find(ctx context.Context, resourceType, filter string, excludedAttributes ...string) ([]Resource, error) {
	q := url.Values{"filter": {filter}}
	if len(excludedAttributes) > 0 {
		q.Set("excludedAttributes", strings.Join(excludedAttributes, ","))
	}
	page, err := c.page(ctx, "/"+resourceType, q)
	if err != nil {
		return nil, err
	}
	out := make([]Resource, len(page.Resources))
	for i, r := range page.Resources {
		out[i] = r
	}
	return out, nil
}

// pageSize is how many resources List asks for per page.
const pageSize = 100

// List calls fn with every resource that matches filter ("" for all),
// page by page. attributes, when not empty, asks for only those. It
// trusts neither the target's page size nor its totalResults alone: the
// next page starts after the resources actually received, and listing
// stops at totalResults or at the first empty page. An error from fn stops
// List and is returned.
func (c *Client) List(ctx context.Context, resourceType, filter string, attributes []string, fn func(map[string]any) error) error {
	path := "/" + resourceType
	start := 1
	firsts := map[string]bool{} // each page's first id, to notice a target that ignores startIndex
	for {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(pageSize)}}
		if filter != "" {
			q.Set("filter", filter)
		}
		if len(attributes) > 0 {
			q.Set("attributes", strings.Join(attributes, ","))
		}
		page, err := c.page(ctx, path, q)
		if err != nil {
			return err
		}
		if page.StartIndex != nil && *page.StartIndex != start && !(start == 1 && *page.StartIndex == 0) {
			return &Error{Method: "GET", Path: path, Status: http.StatusOK, server: c.server,
				Detail: fmt.Sprintf("asked for the page at startIndex %d and got startIndex %d: the target does not page as SCIM says", start, *page.StartIndex)}
		}
		if len(page.Resources) > 0 {
			if id := fmt.Sprint(page.Resources[0]["id"]); id != "<nil>" {
				if firsts[id] {
					return &Error{Method: "GET", Path: path, Status: http.StatusOK, server: c.server,
						Detail: fmt.Sprintf("the page at startIndex %d repeats an earlier page: the target ignores startIndex", start)}
				}
				firsts[id] = true
			}
		}
		for _, r := range page.Resources {
			if err := fn(r); err != nil {
				return err
			}
		}
		start += len(page.Resources)
		if len(page.Resources) == 0 || page.TotalResults != nil && start > *page.TotalResults {
			return nil
		}
	}
}

// listResponse is a SCIM ListResponse (RFC 7644 §3.4.2).
type listResponse struct {
	Schemas      []string         `json:"schemas"`
	TotalResults *int             `json:"totalResults"`
	StartIndex   *int             `json:"startIndex"`
	Resources    []map[string]any `json:"Resources"`
}

// page fetches one ListResponse.
func (c *Client) page(ctx context.Context, path string, q url.Values) (*listResponse, error) {
	resp, _, err := c.roundTrip(ctx, &request{method: "GET", path: path, query: q})
	if err != nil {
		return nil, err
	}
	var page listResponse
	if err := decode(resp.body, &page); err != nil {
		return nil, &Error{Method: "GET", Path: path, Status: resp.status, server: c.server,
			Detail: "the answer is not a SCIM ListResponse: " + err.Error()}
	}
	return &page, nil
}

// Create posts a new resource and returns it as the target stored it.
//
// A POST is not idempotent: when an attempt fails in a way that may have
// reached the target (a timeout, a connection dropped after the request
// was written, a 5xx), resending it could create the object twice. So
// before resending, Create calls lookup, which should find the object by
// its matching attribute (e.g. Find with userName eq "...") and return
// (nil, nil) when there is none; if it finds one, that is the result. A
// 409 to a resend after such a failure is looked up the same way. With a
// nil lookup, Create resends only after failures that cannot have reached
// the target (429, 503 with Retry-After, refused connections) and reports
// the others as retryable errors.
func (c *Client) Create(ctx context.Context, resourceType string, doc map[string]any, lookup func(context.Context) (Resource, error)) (Resource, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("scimclient: the %s to create is not JSON: %w", resourceType, err)
	}
	path := "/" + resourceType
	resp, ambiguous, err := c.roundTrip(ctx, &request{method: "POST", path: path, body: body, lookup: lookup})
	if err != nil {
		if ambiguous && lookup != nil && IsConflict(err) {
			// The earlier attempt probably created it.
			if r, lerr := c.lookup(ctx, lookup); lerr == nil && r != nil {
				return r, nil
			}
		}
		return nil, err
	}
	if resp.found != nil {
		return resp.found, nil
	}
	r, err := resp.resource(c, "POST", path)
	if err == nil && r.ID() == "" {
		err = &Error{Method: "POST", Path: path, Status: resp.status, server: c.server,
			Detail: "the answer does not hold the created resource's id"}
	}
	return r, err
}

// lookup calls a Create's lookup and counts it.
func (c *Client) lookup(ctx context.Context, fn func(context.Context) (Resource, error)) (Resource, error) {
	c.mu.Lock()
	c.stats.Lookups++
	c.mu.Unlock()
	r, err := fn(ctx)
	if len(r) == 0 {
		r = nil
	}
	return r, err
}

// Patch applies ops to a resource. Targets answer 200 with the resource
// or 204 without; both are success and the body is not read.
func (c *Client) Patch(ctx context.Context, resourceType, id string, ops []PatchOp) error {
	body, err := json.Marshal(map[string]any{"schemas": []string{schemaPatchOp}, "Operations": ops})
	if err != nil {
		return fmt.Errorf("scimclient: the PATCH operations are not JSON: %w", err)
	}
	_, _, err = c.roundTrip(ctx, &request{method: "PATCH", path: objectPath(resourceType, id), body: body})
	return err
}

// Delete deletes a resource. A 404 to a resend after an attempt that may
// have reached the target is success: that attempt deleted it.
func (c *Client) Delete(ctx context.Context, resourceType, id string) error {
	_, ambiguous, err := c.roundTrip(ctx, &request{method: "DELETE", path: objectPath(resourceType, id)})
	if ambiguous && IsNotFound(err) {
		return nil
	}
	return err
}

// objectPath is the path of one resource, its id escaped as one segment.
func objectPath(resourceType, id string) string {
	return "/" + resourceType + "/" + url.PathEscape(id)
}

// decode parses JSON with numbers kept as json.Number, so that large
// integers and their spelling survive a round trip.
func decode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		if err == io.EOF {
			return errors.New("the body is empty")
		}
		return err
	}
	return nil
}
