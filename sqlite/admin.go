package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"time"

	"github.com/roster-scim/roster"
)

// Initialized reports whether any organization exists.
func (db *DB) Initialized(ctx context.Context) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM organizations`).Scan(&n)
	return n > 0, err
}

// Bootstrap creates the first organization, directory and key atomically.
func (db *DB) Bootstrap(ctx context.Context, b *roster.Bootstrap) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM organizations`).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return roster.Errorf(roster.ECONFLICT, "the data directory is already initialized")
	}
	if err := insertTenant(ctx, tx, b, db.now()); err != nil {
		return err
	}
	return tx.Commit()
}

// insertTenant writes an organization, its directory and a key the
// directory accepts. Bootstrap uses it for the first organization; tests
// use it to add more, which the AdminStore interface does not offer yet.
func insertTenant(ctx context.Context, tx queryer, b *roster.Bootstrap, now time.Time) error {
	b.Org.Created, b.Dir.Created, b.Key.Created = now, now, now
	if _, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, name, created) VALUES (?, ?, ?)`, b.Org.ID, b.Org.Name, micros(now)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO directories (id, org_id, name, created) VALUES (?, ?, ?, ?)`, b.Dir.ID, b.Org.ID, b.Dir.Name, micros(now)); err != nil {
		return err
	}
	var expires sql.NullInt64
	if b.Key.Expires != nil {
		expires = sql.NullInt64{Int64: micros(*b.Key.Expires), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, org_id, name, secret_hash, users_priv, groups_priv, created, expires, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.Key.ID, b.Org.ID, b.Key.Name, b.Key.SecretHash, b.Key.Users, b.Key.Groups, micros(now), expires, b.Key.Revoked); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO directory_keys (directory_id, key_id) VALUES (?, ?)`, b.Dir.ID, b.Key.ID)
	return err
}

// Authenticate finds an active key of the directory by secret hash. The
// stored hash is compared again in constant time so that the decision never
// depends on how far two hashes agree.
func (db *DB) Authenticate(ctx context.Context, dirID string, hash []byte) (*roster.APIKey, error) {
	k := &roster.APIKey{}
	var created int64
	var expires sql.NullInt64
	err := db.read.QueryRowContext(ctx, `
		SELECT k.id, k.org_id, k.name, k.secret_hash, k.users_priv, k.groups_priv, k.created, k.expires, k.revoked
		FROM api_keys k
		JOIN directory_keys dk ON dk.key_id = k.id
		JOIN directories d ON d.id = dk.directory_id AND d.org_id = k.org_id
		WHERE k.secret_hash = ? AND dk.directory_id = ?`, hash, dirID).
		Scan(&k.ID, &k.OrgID, &k.Name, &k.SecretHash, &k.Users, &k.Groups, &created, &expires, &k.Revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "the bearer token is not valid for this tenant URL")
	} else if err != nil {
		return nil, err
	}
	k.Created = fromMicros(created)
	if expires.Valid {
		t := fromMicros(expires.Int64)
		k.Expires = &t
	}
	switch {
	case subtle.ConstantTimeCompare(k.SecretHash, hash) != 1:
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "the bearer token is not valid for this tenant URL")
	case k.Revoked:
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "the API key %q has been revoked", k.Name)
	case k.Expires != nil && !db.now().Before(*k.Expires):
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "the API key %q has expired", k.Name)
	}
	return k, nil
}

// FindDirectory returns a directory by id.
func (db *DB) FindDirectory(ctx context.Context, id string) (*roster.Directory, error) {
	d := &roster.Directory{}
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, org_id, name, created FROM directories WHERE id = ?`, id).
		Scan(&d.ID, &d.OrgID, &d.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, roster.Errorf(roster.ENOTFOUND, "no directory (IdP configuration) with id %q", id)
	} else if err != nil {
		return nil, err
	}
	d.Created = fromMicros(created)
	return d, nil
}
