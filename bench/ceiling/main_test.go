package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roster-scim/roster/loadgen"
)

// TestBench runs a short roster bench against the ceiling: every request
// of the workload gets an answer roster bench accepts.
func TestBench(t *testing.T) {
	srv := httptest.NewServer(&handler{base: "/scim/v2", auth: "Bearer t"})
	defer srv.Close()
	rep, err := loadgen.Run(context.Background(), loadgen.Config{URL: srv.URL + "/scim/v2", Token: "t", Users: 50, Groups: 3,
		MembersPerGroup: 20, Concurrency: 2, Duration: 200 * time.Millisecond, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Server.Behaved {
		t.Errorf("errors: preload %+v, mix %v, cleanup %v", rep.Preload.Ops, rep.Overall.Errors, rep.Cleanup.Errors)
	}
	if rep.Overall.Count == 0 {
		t.Error("the mix sent nothing")
	}
}

func TestTestConnection(t *testing.T) {
	for filter, want := range map[string]bool{
		`userName eq "0f8fad5b-d9cb-469f-a165-70867728950e"`:   true,
		`userName eq "bench-1.u1@bench.example"`:               false,
		`externalId eq "0f8fad5b-d9cb-469f-a165-70867728950e"`: false,
		``: false,
	} {
		if got := testConnection(filter); got != want {
			t.Errorf("testConnection(%q) = %v", filter, got)
		}
	}
}
