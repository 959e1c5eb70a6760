package scimclient

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Check is the result of one of TestConnection's probes.
type Check struct {
	Name string
	OK   bool
	// Detail says what was sent and, on failure, what is wrong and what
	// to check, in plain words.
	Detail string
}

// TestConnection sends the probes Entra's Test Connection sends and
// checks each answer is what Entra needs: a query for a user, and one for
// a group, whose matching value is a random GUID, each answered 200 with
// an empty ListResponse. Each probe is sent once, without retries: a
// person is waiting, and a flaky target should show.
func (c *Client) TestConnection(ctx context.Context) []Check {
	return []Check{
		c.probe(ctx, "Query users", &request{method: "GET", path: "/Users",
			query: url.Values{"filter": {`userName eq "` + newGUID() + `"`}}}),
		c.probe(ctx, "Query groups", &request{method: "GET", path: "/Groups",
			query: url.Values{"filter": {`displayName eq "` + newGUID() + `"`}, "excludedAttributes": {"members"}}}),
	}
}

// probe sends one query that must find nothing and judges the answer.
func (c *Client) probe(ctx context.Context, name string, r *request) Check {
	sent := r.method + " " + r.path + "?" + readableQuery(r.query)
	fail := func(format string, args ...any) Check {
		return Check{Name: name, Detail: redact(sent+": "+fmt.Sprintf(format, args...), c.secrets())}
	}
	ans, _, err := c.attempt(ctx, r)
	if err != nil {
		return fail("%s", describe(err, c.server))
	}
	var body scimError
	_ = decode(ans.body, &body)
	status := fmt.Sprintf("%d %s", ans.status, http.StatusText(ans.status))
	if body.Detail != "" {
		status += " (" + body.Detail + ")"
	}
	switch {
	case ans.status == http.StatusUnauthorized || ans.status == http.StatusForbidden:
		if c.oauth != nil {
			return fail("%s: the target rejected the access token from %s: check that it trusts that token endpoint and the client's scope", status, c.oauth.cfg.TokenURL)
		}
		return fail("%s: the target rejected the token: check that the secret token is the one the target issued, whole and not revoked", status)
	case ans.status == http.StatusNotFound:
		return fail("%s: the URL does not point at a SCIM endpoint; it should end with the tenant path, e.g. %s/v1/scim/<id>. "+
			"(A SCIM endpoint must answer a query that matches nothing with 200 and an empty list; Entra quarantines apps that answer 404 here.)", status, c.server)
	case ans.status != http.StatusOK:
		return fail("%s: expected 200 OK with an empty ListResponse", status)
	}
	var page listResponse
	if err := decode(ans.body, &page); err != nil {
		if json.Valid(ans.body) {
			return fail("200 OK but the answer is JSON that is not a SCIM ListResponse (%v)", err)
		}
		return fail("200 OK but the answer is not JSON (Content-Type %q): the URL may point at a web page rather than the SCIM endpoint", ans.header.Get("Content-Type"))
	}
	switch {
	case !slices.Contains(page.Schemas, schemaListResponse):
		return fail("200 OK but the answer is not a SCIM ListResponse: its schemas do not include %s", schemaListResponse)
	case page.TotalResults == nil:
		return fail("200 OK but the ListResponse has no totalResults")
	case *page.TotalResults != 0 || len(page.Resources) != 0:
		return fail("200 OK but the query for a random GUID, which matches nothing, returned %d result(s) (totalResults %d): "+
			"the target seems to ignore the filter, and would match every object to the wrong one", len(page.Resources), *page.TotalResults)
	}
	return Check{Name: name, OK: true, Detail: sent + ": 200 OK with an empty ListResponse"}
}

// readableQuery shows a query as a person reads it, not URL-encoded.
func readableQuery(q url.Values) string {
	var parts []string
	for _, k := range []string{"filter", "excludedAttributes"} {
		if v := q.Get(k); v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, "&")
}

// newGUID returns a random version 4 UUID, as Entra's probes use.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
