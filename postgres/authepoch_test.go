package postgres

import (
	"context"
	"testing"
)

// TestAuthEpochTruncate: roster copy --replace empties the tables with
// TRUNCATE, which fires no DELETE trigger; the auth counter must move all
// the same, or running servers would keep answering from their caches.
func TestAuthEpochTruncate(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	mustAddTenant(t, db, "truncated")
	epoch := func() int64 {
		t.Helper()
		var n int64
		if err := db.pool.QueryRow(ctx, `SELECT n FROM auth_epoch`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range []string{"directory_keys", "api_keys", "oauth_clients", "directories", "organizations"} {
		before := epoch()
		if _, err := db.pool.Exec(ctx, `TRUNCATE `+table+` CASCADE`); err != nil {
			t.Fatal(err)
		}
		if after := epoch(); after <= before {
			t.Errorf("TRUNCATE %s: auth_epoch %d, was %d", table, after, before)
		}
	}
}
