package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkMatchQuery measures the generator's own cost of one match query
// against a handler that answers a canned ListResponse: its allocations are
// what every request of a run adds on the client side.
func BenchmarkMatchQuery(b *testing.B) {
	const list = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[{"id":"x"}],"startIndex":1,"itemsPerPage":1}`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		w.Write([]byte(list))
	}))
	defer ts.Close()
	cfg := Config{URL: ts.URL, Token: "t", Users: 1, Groups: 1, Concurrency: 1, Duration: 1}
	if err := cfg.check(); err != nil {
		b.Fatal(err)
	}
	r := &runner{cfg: cfg, base: ts.URL, client: NewClient(1), users: []user{{id: "1", userName: "ada@example.com", externalID: "e"}}}
	r.getHdr = http.Header{"Authorization": {"Bearer t"}}
	c := r.newClient(0)
	var st [numOps]stats
	b.ReportAllocs()
	for b.Loop() {
		c.run(context.Background(), OpMatchUserName, &st)
	}
	if n := len(st[OpMatchUserName].errors); n != 0 {
		b.Fatal(st[OpMatchUserName].errors)
	}
}
