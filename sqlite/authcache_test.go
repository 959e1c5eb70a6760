package sqlite

import (
	"context"
	"testing"

	"github.com/roster-scim/roster"
)

// TestAuthCacheAcrossProcesses: a key revoked by another process on the
// same data directory (an admin command, a second server) is refused by a
// server that has the key's success cached, from its next request on.
func TestAuthCacheAcrossProcesses(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	server := mustOpenDir(t, dir)
	ten := mustAddTenant(t, server, "cached")
	hash := roster.HashSecret(ten.Secret)
	for i := range 2 {
		if c, _, err := server.AuthenticateDirectory(ctx, ten.Dir.ID, hash); err != nil || c.ID != ten.Key.ID {
			t.Fatalf("call %d: AuthenticateDirectory = %+v, %v", i+1, c, err)
		}
	}
	admin := mustOpenDir(t, dir)
	if err := admin.RevokeAPIKey(ctx, ten.Org.ID, ten.Key.ID); err != nil {
		t.Fatal(err)
	}
	c, d, err := server.AuthenticateDirectory(ctx, ten.Dir.ID, hash)
	if c != nil || d != nil || roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Errorf("after another process revoked the key: %+v, %+v, %v; want EUNAUTHORIZED", c, d, err)
	}
}
