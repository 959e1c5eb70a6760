package sqlstore

import (
	"context"
	"sync"

	"github.com/roster-scim/roster"
)

// authCacheSize bounds the verified credentials kept in memory. One entry
// per (directory, secret) pair that authenticated since the last change to
// the auth tables; a server sees a handful per tenant, so the bound only
// matters against a flood of distinct valid tokens, and reaching it empties
// the cache rather than tracking recency.
const authCacheSize = 4096

// authEntry is what one successful authentication established.
type authEntry struct {
	epoch   int64
	cred    roster.Credential
	dir     roster.Directory
	expires int64 // Unix microseconds; 0: never
}

// authCache holds verified credentials with the auth_epoch they were
// verified under. An entry is good only while the epoch is unchanged:
// the epoch table's triggers (migration 0006 on SQLite, 0003 on
// PostgreSQL) increment it on every change that could alter an outcome,
// and the counter is read on every request, so the cache never answers
// for a state older than the request.
type authCache struct {
	mu sync.RWMutex
	m  map[string]*authEntry
}

func authKey(dirID string, hash []byte) string { return dirID + "\x00" + string(hash) }

func (c *authCache) get(key string, epoch int64) *authEntry {
	c.mu.RLock()
	e := c.m[key]
	c.mu.RUnlock()
	if e == nil || e.epoch != epoch {
		return nil
	}
	return e
}

func (c *authCache) put(key string, e *authEntry) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= authCacheSize {
		c.m = make(map[string]*authEntry)
	}
	c.m[key] = e
	c.mu.Unlock()
}

// authEpoch reads the auth_epoch counter.
func (s *Store) authEpoch(ctx context.Context) (int64, error) {
	var n int64
	err := s.readRow(ctx, `SELECT n FROM auth_epoch WHERE one = 1`).Scan(&n)
	return n, err
}

// AuthenticateDirectory is Authenticate followed by FindDirectory, the two
// lookups of every SCIM request, answered from memory when nothing they
// depend on changed since they were last verified: one read of a one-row
// table instead of a three-table join and a directory lookup. The epoch is
// read before the lookups, so a change committed while they run leaves the
// entry stale, never the other way round. Expiry is checked against the
// clock on every call, and a failed authentication is never cached.
func (s *Store) AuthenticateDirectory(ctx context.Context, dirID string, hash []byte) (*roster.Credential, *roster.Directory, error) {
	epoch, err := s.authEpoch(ctx)
	if err != nil {
		return nil, nil, err
	}
	key := authKey(dirID, hash)
	if e := s.auth.get(key, epoch); e != nil {
		now := s.now()
		if e.expires != 0 && micros(now) >= e.expires {
			return nil, nil, expiredError(e.cred.Kind, e.cred.Name)
		}
		if e.cred.Kind == "key" {
			if err := s.touchKey(ctx, e.cred.ID, now); err != nil {
				return nil, nil, err
			}
		}
		cred, dir := e.cred, e.dir
		return &cred, &dir, nil
	}
	cred, expires, err := s.authenticate(ctx, dirID, hash)
	if err != nil {
		return nil, nil, err
	}
	dir, err := s.FindDirectory(ctx, dirID)
	if err != nil {
		return nil, nil, err
	}
	e := &authEntry{epoch: epoch, cred: *cred, dir: *dir, expires: expires}
	e.dir.KeyIDs = append([]string(nil), dir.KeyIDs...)
	s.auth.put(key, e)
	return cred, dir, nil
}
