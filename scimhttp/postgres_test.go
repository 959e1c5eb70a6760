package scimhttp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roster-scim/roster/postgres"
	"github.com/roster-scim/roster/postgres/pgtest"
	"github.com/roster-scim/roster/scim"
)

// The HTTP suite on PostgreSQL (issue 4, item 3): TestPostgres runs the
// replay fixtures and the error and protocol tests again, each harness on
// a PostgreSQL schema of its own, created for the test and dropped after.
//
// The switch is the test's name: newHarness builds on PostgreSQL every
// harness of a test under TestPostgres/, so that the tests themselves stay
// written once. withPostgres does the same for a single harness.

// postgresPrefix is the name prefix of the tests newHarness runs on
// PostgreSQL.
const postgresPrefix = "TestPostgres/"

// withPostgres builds the harness on a fresh PostgreSQL schema.
func withPostgres() harnessOption {
	return func(c *harnessConfig) { c.open = openPostgres }
}

// onPostgres reports whether t runs under TestPostgres.
func onPostgres(t testing.TB) bool { return strings.HasPrefix(t.Name(), postgresPrefix) }

// TestPostgres runs the HTTP suite on PostgreSQL. Outside CI it skips
// when no PostgreSQL is reachable, saying how to run it; with CI=true it
// fails instead.
//
// The list holds the tests whose outcome depends on the store: the replay
// fixtures, the errors, and the protocol, hardening and profile tests that
// store, filter, sort, page, patch or version resources. Tests of routing,
// media types, discovery and request parsing alone are left out, since each
// harness costs a schema and a migration (about 0.2 s, and migrations are
// serialized by the store's advisory lock across all schemas of the
// database). The request log tests run here too: the recorder writes
// through the store's RequestLogStore, whose PostgreSQL batch insert,
// query and body-capture switch the HTTP entries must survive.
func TestPostgres(t *testing.T) {
	requirePostgres(t)
	for _, tc := range []struct {
		name string
		test func(*testing.T)
	}{
		{"Replay", TestReplay},
		{"Errors", TestErrors},
		{"ErrorsOfOtherDirectories", TestErrorsOfOtherDirectories},
		{"InternalErrorLeaksNothing", TestInternalErrorLeaksNothing},
		{"Search", TestSearch},
		{"Sorting", TestSorting},
		{"Paging", TestPaging},
		{"Projection", TestProjection},
		{"PatchResponses", TestPatchResponses},
		{"ETags", TestETags},
		{"Head", TestHead},
		{"HealthAndMetrics", TestHealthAndMetrics},
		{"ServerOwnedAttributes", TestServerOwnedAttributes},
		{"PasswordNeverReturned", TestPasswordNeverReturned},
		{"LogsHoldNoSecretsOrPersonalData", TestLogsHoldNoSecretsOrPersonalData},
		{"ExcludedMembersSkipsMembership", TestExcludedMembersSkipsMembership},
		{"HugeNumbers", TestHugeNumbers},
		{"UnstorableText", TestUnstorableText},
		{"RemoveMembersByFilter", TestRemoveMembersByFilter},
		{"ProfileWorkplaceExtensions", TestProfileWorkplaceExtensions},
		{"ProfileMemberTypes", TestProfileMemberTypes},
		{"ProfileFilterable", TestProfileFilterable},
		{"RequestLog", TestRequestLog},
		{"RequestLogBodyCapture", TestRequestLogBodyCapture},
	} {
		t.Run(tc.name, tc.test)
	}
}

// requirePostgres skips the test, or fails it under CI=true, when the test
// database is not reachable (pgtest.URL decides, and cleans up its schema).
func requirePostgres(t testing.TB) {
	t.Helper()
	pgtest.URL(t)
}

// openPostgres opens an empty store in a schema of its own, created now
// and dropped when the test ends, so that harnesses run in parallel on one
// database.
func openPostgres(t testing.TB, reg *scim.Registry) testStore {
	t.Helper()
	u := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), u, reg)
	if err != nil {
		t.Fatalf("open %s: %v", pgtest.Redact(u), err)
	}
	// Registered after the schema's cleanup, so it runs first: the pool
	// is closed before the schema is dropped.
	t.Cleanup(func() { db.Close() })
	return db
}
