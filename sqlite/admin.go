package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strings"
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
	if _, err := tx.ExecContext(ctx, `INSERT INTO directory_keys (directory_id, key_id) VALUES (?, ?)`, b.Dir.ID, b.Key.ID); err != nil {
		return err
	}
	b.Dir.KeyIDs = []string{b.Key.ID}
	if b.Admin != nil {
		b.Admin.Created = now
		return insertAdmin(ctx, tx, b.Admin)
	}
	return nil
}

// errBadToken is the one answer to an unknown token, whatever the reason, so
// that responses do not tell which tokens exist.
var errBadToken = roster.Errorf(roster.EUNAUTHORIZED, "the bearer token is not valid for this tenant URL")

// Authenticate finds an API key or OAuth access token that the directory
// accepts, by secret hash. The stored hash is compared again in constant
// time, so the decision never depends on how far two hashes agree.
func (db *DB) Authenticate(ctx context.Context, dirID string, hash []byte) (*roster.Credential, error) {
	var c roster.Credential
	var stored []byte
	var expires sql.NullInt64
	var revoked bool
	err := db.read.QueryRowContext(ctx, `
		SELECT k.id, k.org_id, k.name, k.secret_hash, k.users_priv, k.groups_priv, k.expires, k.revoked
		FROM api_keys k
		JOIN directory_keys dk ON dk.key_id = k.id
		JOIN directories d ON d.id = dk.directory_id AND d.org_id = k.org_id
		WHERE k.secret_hash = ? AND dk.directory_id = ?`, hash, dirID).
		Scan(&c.ID, &c.OrgID, &c.Name, &stored, &c.Users, &c.Groups, &expires, &revoked)
	c.Kind = "key"
	if errors.Is(err, sql.ErrNoRows) {
		c.Kind, revoked = "oauth", false
		err = db.read.QueryRowContext(ctx, `
			SELECT c.id, c.org_id, c.name, t.token_hash, c.users_priv, c.groups_priv, t.expires
			FROM access_tokens t JOIN oauth_clients c ON c.id = t.client_id
			WHERE t.token_hash = ? AND c.directory_id = ?`, hash, dirID).
			Scan(&c.ID, &c.OrgID, &c.Name, &stored, &c.Users, &c.Groups, &expires)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadToken
	} else if err != nil {
		return nil, err
	}
	now := db.now()
	switch {
	case subtle.ConstantTimeCompare(stored, hash) != 1:
		return nil, errBadToken
	case revoked:
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "the API key %q has been revoked", c.Name)
	case expires.Valid && !now.Before(fromMicros(expires.Int64)):
		if c.Kind == "oauth" {
			return nil, roster.Errorf(roster.EUNAUTHORIZED, "the access token has expired; request a new one from the token endpoint")
		}
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "the API key %q has expired", c.Name)
	}
	if c.Kind == "key" {
		if err := db.touchKey(ctx, c.ID, now); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// touchKey records when a key was last used. It writes at most once a
// minute per key, so authentication does not turn every SCIM read into a
// write that queues behind the single writer.
func (db *DB) touchKey(ctx context.Context, id string, now time.Time) error {
	if last, ok := db.touched.Load(id); ok && now.Sub(last.(time.Time)) < time.Minute {
		return nil
	}
	db.touched.Store(id, now)
	_, err := db.write.ExecContext(ctx, `UPDATE api_keys SET last_used = ? WHERE id = ?`, micros(now), id)
	return err
}

func notFound(what, id string) error {
	return roster.Errorf(roster.ENOTFOUND, "no %s with id %q", what, id)
}

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

// asStored returns t as the store keeps it, in UTC to the microsecond, so
// that the object a create call fills in equals what a later read returns.
func asStored(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := fromMicros(micros(*t))
	return &u
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

// CreateOrganization stores a new organization.
func (db *DB) CreateOrganization(ctx context.Context, o *roster.Organization) error {
	o.Created = db.now()
	_, err := db.write.ExecContext(ctx, `INSERT INTO organizations (id, name, created) VALUES (?, ?, ?)`, o.ID, o.Name, micros(o.Created))
	return err
}

// ListOrganizations returns every organization, oldest first.
func (db *DB) ListOrganizations(ctx context.Context) ([]*roster.Organization, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, created FROM organizations ORDER BY created, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*roster.Organization{}
	for rows.Next() {
		o := &roster.Organization{}
		var created int64
		if err := rows.Scan(&o.ID, &o.Name, &created); err != nil {
			return nil, err
		}
		o.Created = fromMicros(created)
		out = append(out, o)
	}
	return out, rows.Err()
}

// FindOrganization returns one organization.
func (db *DB) FindOrganization(ctx context.Context, id string) (*roster.Organization, error) {
	o := &roster.Organization{}
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, name, created FROM organizations WHERE id = ?`, id).Scan(&o.ID, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("organization", id)
	}
	o.Created = fromMicros(created)
	return o, err
}

// CreateAPIKey stores a new key.
func (db *DB) CreateAPIKey(ctx context.Context, k *roster.APIKey) error {
	if _, err := db.FindOrganization(ctx, k.OrgID); err != nil {
		return err
	}
	k.Created, k.Expires = db.now(), asStored(k.Expires)
	_, err := db.write.ExecContext(ctx, `INSERT INTO api_keys (id, org_id, name, description, secret_hash, users_priv, groups_priv, created, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, k.ID, k.OrgID, k.Name, k.Description, k.SecretHash, k.Users, k.Groups, micros(k.Created), nullTime(k.Expires))
	return err
}

const selectKey = `SELECT id, org_id, name, description, users_priv, groups_priv, created, expires, last_used, revoked FROM api_keys`

func scanKey(row interface{ Scan(...any) error }) (*roster.APIKey, error) {
	k := &roster.APIKey{}
	var created int64
	var expires, lastUsed sql.NullInt64
	if err := row.Scan(&k.ID, &k.OrgID, &k.Name, &k.Description, &k.Users, &k.Groups, &created, &expires, &lastUsed, &k.Revoked); err != nil {
		return nil, err
	}
	k.Created, k.Expires, k.LastUsed = fromMicros(created), timePtr(expires), timePtr(lastUsed)
	return k, nil
}

// ListAPIKeys returns an organization's keys, oldest first.
func (db *DB) ListAPIKeys(ctx context.Context, orgID string) ([]*roster.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, selectKey+` WHERE org_id = ? ORDER BY created, id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*roster.APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// FindAPIKey returns one key of an organization.
func (db *DB) FindAPIKey(ctx context.Context, orgID, id string) (*roster.APIKey, error) {
	k, err := scanKey(db.read.QueryRowContext(ctx, selectKey+` WHERE org_id = ? AND id = ?`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("API key", id)
	}
	return k, err
}

// RevokeAPIKey marks a key revoked; it stops working at once.
func (db *DB) RevokeAPIKey(ctx context.Context, orgID, id string) error {
	res, err := db.write.ExecContext(ctx, `UPDATE api_keys SET revoked = 1 WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("API key", id)
	}
	return nil
}

// setDirectoryKeys replaces the keys a directory accepts, checking that each
// belongs to the directory's organization.
func setDirectoryKeys(ctx context.Context, tx queryer, d *roster.Directory) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM directory_keys WHERE directory_id = ?`, d.ID); err != nil {
		return err
	}
	for _, kid := range d.KeyIDs {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE id = ? AND org_id = ?`, kid, d.OrgID).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return roster.Errorf(roster.EINVALID, "API key %q is not a key of this organization", kid)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO directory_keys (directory_id, key_id) VALUES (?, ?)`, d.ID, kid); err != nil {
			return err
		}
	}
	return nil
}

// CreateDirectory stores a directory and the keys it accepts.
func (db *DB) CreateDirectory(ctx context.Context, d *roster.Directory) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM organizations WHERE id = ?`, d.OrgID).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return notFound("organization", d.OrgID)
	}
	d.Created = db.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO directories (id, org_id, name, icon, profile, created) VALUES (?, ?, ?, ?, ?, ?)`,
		d.ID, d.OrgID, d.Name, d.Icon, d.Profile, micros(d.Created)); err != nil {
		return err
	}
	if err := setDirectoryKeys(ctx, tx, d); err != nil {
		return err
	}
	return tx.Commit()
}

// UpdateDirectory replaces a directory's settings and keys.
func (db *DB) UpdateDirectory(ctx context.Context, d *roster.Directory) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE directories SET name = ?, icon = ?, profile = ? WHERE id = ? AND org_id = ?`, d.Name, d.Icon, d.Profile, d.ID, d.OrgID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("directory (IdP configuration)", d.ID)
	}
	if err := setDirectoryKeys(ctx, tx, d); err != nil {
		return err
	}
	return tx.Commit()
}

const selectDirectory = `SELECT d.id, d.org_id, d.name, d.icon, d.profile, d.created, d.capture_bodies,
	(SELECT group_concat(key_id, ',') FROM (SELECT key_id FROM directory_keys WHERE directory_id = d.id ORDER BY key_id))
	FROM directories d`

func scanDirectory(row interface{ Scan(...any) error }) (*roster.Directory, error) {
	d := &roster.Directory{KeyIDs: []string{}}
	var created int64
	var keys sql.NullString
	if err := row.Scan(&d.ID, &d.OrgID, &d.Name, &d.Icon, &d.Profile, &created, &d.CaptureBodies, &keys); err != nil {
		return nil, err
	}
	d.Created = fromMicros(created)
	if keys.String != "" {
		d.KeyIDs = strings.Split(keys.String, ",")
	}
	return d, nil
}

// FindDirectory returns a directory by id.
func (db *DB) FindDirectory(ctx context.Context, id string) (*roster.Directory, error) {
	d, err := scanDirectory(db.read.QueryRowContext(ctx, selectDirectory+` WHERE d.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("directory (IdP configuration)", id)
	}
	return d, err
}

// ListDirectories returns an organization's directories, oldest first.
func (db *DB) ListDirectories(ctx context.Context, orgID string) ([]*roster.Directory, error) {
	rows, err := db.read.QueryContext(ctx, selectDirectory+` WHERE d.org_id = ? ORDER BY d.created, d.id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*roster.Directory{}
	for rows.Next() {
		d, err := scanDirectory(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDirectory deletes a directory with its resources; emails,
// memberships, key links and OAuth clients follow by cascade.
func (db *DB) DeleteDirectory(ctx context.Context, orgID, id string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM directories WHERE id = ? AND org_id = ?`, id, orgID).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return notFound("directory (IdP configuration)", id)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE dir_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM directories WHERE id = ?`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// CreateOAuthClient stores a client and its first secret.
func (db *DB) CreateOAuthClient(ctx context.Context, c *roster.OAuthClient) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM directories WHERE id = ? AND org_id = ?`, c.DirectoryID, c.OrgID).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return notFound("directory (IdP configuration)", c.DirectoryID)
	}
	c.Created = db.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO oauth_clients (id, org_id, directory_id, name, users_priv, groups_priv, token_ttl, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.OrgID, c.DirectoryID, c.Name, c.Users, c.Groups, int64(c.TokenTTL/time.Second), micros(c.Created)); err != nil {
		return err
	}
	for i := range c.Secrets {
		if err := insertSecret(ctx, tx, c.ID, &c.Secrets[i], c.Created); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func insertSecret(ctx context.Context, tx queryer, clientID string, s *roster.OAuthSecret, now time.Time) error {
	s.Created, s.Expires = now, asStored(s.Expires)
	_, err := tx.ExecContext(ctx, `INSERT INTO oauth_secrets (id, client_id, secret_hash, created, expires) VALUES (?, ?, ?, ?, ?)`,
		s.ID, clientID, s.Hash, micros(now), nullTime(s.Expires))
	return err
}

const selectClient = `SELECT id, org_id, directory_id, name, users_priv, groups_priv, token_ttl, created FROM oauth_clients`

func (db *DB) scanClient(ctx context.Context, row interface{ Scan(...any) error }) (*roster.OAuthClient, error) {
	c := &roster.OAuthClient{Secrets: []roster.OAuthSecret{}}
	var ttl, created int64
	if err := row.Scan(&c.ID, &c.OrgID, &c.DirectoryID, &c.Name, &c.Users, &c.Groups, &ttl, &created); err != nil {
		return nil, err
	}
	c.TokenTTL, c.Created = time.Duration(ttl)*time.Second, fromMicros(created)
	rows, err := db.read.QueryContext(ctx, `SELECT id, secret_hash, created, expires, revoked FROM oauth_secrets WHERE client_id = ? ORDER BY created, id`, c.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s roster.OAuthSecret
		var sc int64
		var exp sql.NullInt64
		if err := rows.Scan(&s.ID, &s.Hash, &sc, &exp, &s.Revoked); err != nil {
			return nil, err
		}
		s.Created, s.Expires = fromMicros(sc), timePtr(exp)
		c.Secrets = append(c.Secrets, s)
	}
	return c, rows.Err()
}

// FindOAuthClient returns a client with its secrets.
func (db *DB) FindOAuthClient(ctx context.Context, clientID string) (*roster.OAuthClient, error) {
	c, err := db.scanClient(ctx, db.read.QueryRowContext(ctx, selectClient+` WHERE id = ?`, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("OAuth client", clientID)
	}
	return c, err
}

// ListOAuthClients returns the clients of one directory of an organization.
func (db *DB) ListOAuthClients(ctx context.Context, orgID, dirID string) ([]*roster.OAuthClient, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM oauth_clients WHERE org_id = ? AND directory_id = ? ORDER BY created, id`, orgID, dirID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := []*roster.OAuthClient{}
	for _, id := range ids {
		c, err := db.FindOAuthClient(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddOAuthSecret adds a secret to a client of the organization.
func (db *DB) AddOAuthSecret(ctx context.Context, orgID, clientID string, s *roster.OAuthSecret) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM oauth_clients WHERE id = ? AND org_id = ?`, clientID, orgID).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return notFound("OAuth client", clientID)
	}
	if err := insertSecret(ctx, tx, clientID, s, db.now()); err != nil {
		return err
	}
	return tx.Commit()
}

// RevokeOAuthSecret revokes one secret. Tokens already issued with it stay
// valid until they expire, at most the client's token lifetime.
func (db *DB) RevokeOAuthSecret(ctx context.Context, orgID, clientID, secretID string) error {
	res, err := db.write.ExecContext(ctx, `UPDATE oauth_secrets SET revoked = 1 WHERE id = ? AND client_id IN (SELECT id FROM oauth_clients WHERE id = ? AND org_id = ?)`, secretID, clientID, orgID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("OAuth client secret", secretID)
	}
	return nil
}

// CreateAccessToken stores an issued access token and prunes expired ones,
// so the table holds at most the tokens of one lifetime.
func (db *DB) CreateAccessToken(ctx context.Context, t *roster.AccessToken) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM access_tokens WHERE expires <= ?`, micros(db.now())); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO access_tokens (token_hash, client_id, expires) VALUES (?, ?, ?)`, t.Hash, t.ClientID, micros(t.Expires)); err != nil {
		return err
	}
	return tx.Commit()
}

// adminOrg is how an admin's organization is stored: NULL for a server
// admin, so that the foreign key to organizations holds for the others.
func adminOrg(orgID string) sql.NullString {
	return sql.NullString{String: orgID, Valid: orgID != ""}
}

func insertAdmin(ctx context.Context, tx queryer, a *roster.Admin) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO admins (id, org_id, name, secret_hash, created) VALUES (?, ?, ?, ?, ?)`, a.ID, adminOrg(a.OrgID), a.Name, a.SecretHash, micros(a.Created))
	return err
}

// CreateAdmin stores an admin. An admin whose secret is already stored is a
// conflict, which lets `serve` re-apply ROSTER_ADMIN_TOKEN at every start.
// A revoked admin keeps its secret, so re-applying a revoked token does not
// bring it back.
func (db *DB) CreateAdmin(ctx context.Context, a *roster.Admin) error {
	a.Created = db.now()
	err := insertAdmin(ctx, db.write, a)
	if isUnique(err) {
		return roster.Errorf(roster.ECONFLICT, "an admin with this secret already exists")
	}
	return err
}

const selectAdmin = `SELECT id, org_id, name, secret_hash, created, revoked FROM admins`

func scanAdmin(row interface{ Scan(...any) error }) (*roster.Admin, error) {
	a := &roster.Admin{}
	var org sql.NullString
	var created int64
	if err := row.Scan(&a.ID, &org, &a.Name, &a.SecretHash, &created, &a.Revoked); err != nil {
		return nil, err
	}
	a.OrgID, a.Created = org.String, fromMicros(created)
	return a, nil
}

// AuthenticateAdmin finds an admin by secret hash. A revoked admin gets the
// answer an unknown token gets, so the answer does not tell which tokens
// once worked.
func (db *DB) AuthenticateAdmin(ctx context.Context, hash []byte) (*roster.Admin, error) {
	a, err := scanAdmin(db.read.QueryRowContext(ctx, selectAdmin+` WHERE secret_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) || err == nil && (subtle.ConstantTimeCompare(a.SecretHash, hash) != 1 || a.Revoked) {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "the admin token is not valid")
	} else if err != nil {
		return nil, err
	}
	return a, nil
}

// ListAdmins returns the admins of an organization, or the server admins
// for orgID "", oldest first. Revoked admins stay listed, so an audit
// still sees who had access.
func (db *DB) ListAdmins(ctx context.Context, orgID string) ([]*roster.Admin, error) {
	rows, err := db.read.QueryContext(ctx, selectAdmin+` WHERE org_id IS ? ORDER BY created, id`, adminOrg(orgID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*roster.Admin{}
	for rows.Next() {
		a, err := scanAdmin(rows)
		if err != nil {
			return nil, err
		}
		a.SecretHash = nil // lists never carry secrets, not even hashed
		out = append(out, a)
	}
	return out, rows.Err()
}

// RevokeAdmin marks an admin revoked; its token stops working at once,
// since every admin request authenticates anew.
func (db *DB) RevokeAdmin(ctx context.Context, orgID, id string) error {
	res, err := db.write.ExecContext(ctx, `UPDATE admins SET revoked = 1 WHERE org_id IS ? AND id = ?`, adminOrg(orgID), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("admin", id)
	}
	return nil
}
