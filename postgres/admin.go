package postgres

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roster-scim/roster"
)

// Lists order by id in byte order (COLLATE "C"), as SQLite's BINARY
// collation does, so that both stores list in the same order whatever the
// database's locale.

// bootstrapLock is the advisory lock key that serializes Bootstrap across
// replicas ("boot" in ASCII): without it two replicas started together
// could each see no organization and each create one. The lock's second
// key is the schema, so databases of separate schemas do not wait on
// each other.
const bootstrapLock int32 = 0x626f6f74

// Initialized reports whether any organization exists.
func (db *DB) Initialized(ctx context.Context) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organizations)`).Scan(&ok)
	return ok, err
}

// Bootstrap creates the first organization, directory and key atomically.
func (db *DB) Bootstrap(ctx context.Context, b *roster.Bootstrap) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, bootstrapLock); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organizations)`).Scan(&exists); err != nil {
			return err
		} else if exists {
			return roster.Errorf(roster.ECONFLICT, "the data directory is already initialized")
		}
		return insertTenant(ctx, tx, b, db.now())
	})
}

// insertTenant writes an organization, its directory and a key the
// directory accepts. Bootstrap uses it for the first organization; tests
// use it to add more, which the AdminStore interface does not offer yet.
func insertTenant(ctx context.Context, tx queryer, b *roster.Bootstrap, now time.Time) error {
	b.Org.Created, b.Dir.Created, b.Key.Created = now, now, now
	if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created) VALUES ($1, $2, $3)`, b.Org.ID, b.Org.Name, micros(now)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO directories (id, org_id, name, created) VALUES ($1, $2, $3, $4)`, b.Dir.ID, b.Org.ID, b.Dir.Name, micros(now)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO api_keys (id, org_id, name, secret_hash, users_priv, groups_priv, created, expires, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		b.Key.ID, b.Org.ID, b.Key.Name, b.Key.SecretHash, b.Key.Users, b.Key.Groups, micros(now), nullTime(b.Key.Expires), b.Key.Revoked); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO directory_keys (directory_id, key_id) VALUES ($1, $2)`, b.Dir.ID, b.Key.ID); err != nil {
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
	var expires *int64
	var revoked bool
	err := db.pool.QueryRow(ctx, `
		SELECT k.id, k.org_id, k.name, k.secret_hash, k.users_priv, k.groups_priv, k.expires, k.revoked
		FROM api_keys k
		JOIN directory_keys dk ON dk.key_id = k.id
		JOIN directories d ON d.id = dk.directory_id AND d.org_id = k.org_id
		WHERE k.secret_hash = $1 AND dk.directory_id = $2`, hash, dirID).
		Scan(&c.ID, &c.OrgID, &c.Name, &stored, &c.Users, &c.Groups, &expires, &revoked)
	c.Kind = "key"
	if isNoRows(err) {
		c.Kind, revoked = "oauth", false
		err = db.pool.QueryRow(ctx, `
			SELECT c.id, c.org_id, c.name, t.token_hash, c.users_priv, c.groups_priv, t.expires
			FROM access_tokens t JOIN oauth_clients c ON c.id = t.client_id
			WHERE t.token_hash = $1 AND c.directory_id = $2`, hash, dirID).
			Scan(&c.ID, &c.OrgID, &c.Name, &stored, &c.Users, &c.Groups, &expires)
	}
	if isNoRows(err) {
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
	case expires != nil && !now.Before(fromMicros(*expires)):
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
// minute per key and replica, so authentication does not turn every SCIM
// read into a row update (and a dead tuple).
func (db *DB) touchKey(ctx context.Context, id string, now time.Time) error {
	if last, ok := db.touched.Load(id); ok && now.Sub(last.(time.Time)) < time.Minute {
		return nil
	}
	db.touched.Store(id, now)
	// Another replica may have written a later time; keep the latest.
	_, err := db.pool.Exec(ctx, `UPDATE api_keys SET last_used = $1 WHERE id = $2 AND (last_used IS NULL OR last_used < $1)`, micros(now), id)
	return err
}

func notFound(what, id string) error {
	return roster.Errorf(roster.ENOTFOUND, "no %s with id %q", what, id)
}

// nullTime is t as a nullable BIGINT argument: nil stores NULL.
func nullTime(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	n := micros(*t)
	return &n
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

// timePtr is a scanned nullable BIGINT as a time: NULL is nil.
func timePtr(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := fromMicros(*n)
	return &t
}

// CreateOrganization stores a new organization.
func (db *DB) CreateOrganization(ctx context.Context, o *roster.Organization) error {
	o.Created = db.now()
	_, err := db.pool.Exec(ctx, `INSERT INTO organizations (id, name, created) VALUES ($1, $2, $3)`, o.ID, o.Name, micros(o.Created))
	return err
}

// ListOrganizations returns every organization, oldest first.
func (db *DB) ListOrganizations(ctx context.Context) ([]*roster.Organization, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, name, created FROM organizations ORDER BY created, id COLLATE "C"`)
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
	err := db.pool.QueryRow(ctx, `SELECT id, name, created FROM organizations WHERE id = $1`, id).Scan(&o.ID, &o.Name, &created)
	if isNoRows(err) {
		return nil, notFound("organization", id)
	} else if err != nil {
		return nil, err
	}
	o.Created = fromMicros(created)
	return o, nil
}

// CreateAPIKey stores a new key.
func (db *DB) CreateAPIKey(ctx context.Context, k *roster.APIKey) error {
	if _, err := db.FindOrganization(ctx, k.OrgID); err != nil {
		return err
	}
	k.Created, k.Expires = db.now(), asStored(k.Expires)
	_, err := db.pool.Exec(ctx, `INSERT INTO api_keys (id, org_id, name, description, secret_hash, users_priv, groups_priv, created, expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, k.ID, k.OrgID, k.Name, k.Description, k.SecretHash, k.Users, k.Groups, micros(k.Created), nullTime(k.Expires))
	return err
}

const selectKey = `SELECT id, org_id, name, description, users_priv, groups_priv, created, expires, last_used, revoked FROM api_keys`

func scanKey(row pgx.Row) (*roster.APIKey, error) {
	k := &roster.APIKey{}
	var created int64
	var expires, lastUsed *int64
	if err := row.Scan(&k.ID, &k.OrgID, &k.Name, &k.Description, &k.Users, &k.Groups, &created, &expires, &lastUsed, &k.Revoked); err != nil {
		return nil, err
	}
	k.Created, k.Expires, k.LastUsed = fromMicros(created), timePtr(expires), timePtr(lastUsed)
	return k, nil
}

// ListAPIKeys returns an organization's keys, oldest first.
func (db *DB) ListAPIKeys(ctx context.Context, orgID string) ([]*roster.APIKey, error) {
	rows, err := db.pool.Query(ctx, selectKey+` WHERE org_id = $1 ORDER BY created, id COLLATE "C"`, orgID)
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
	k, err := scanKey(db.pool.QueryRow(ctx, selectKey+` WHERE org_id = $1 AND id = $2`, orgID, id))
	if isNoRows(err) {
		return nil, notFound("API key", id)
	} else if err != nil {
		return nil, err
	}
	return k, nil
}

// RevokeAPIKey marks a key revoked; it stops working at once.
func (db *DB) RevokeAPIKey(ctx context.Context, orgID, id string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET revoked = TRUE WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("API key", id)
	}
	return nil
}

// setDirectoryKeys replaces the keys a directory accepts, checking that each
// belongs to the directory's organization.
func setDirectoryKeys(ctx context.Context, tx queryer, d *roster.Directory) error {
	if _, err := tx.Exec(ctx, `DELETE FROM directory_keys WHERE directory_id = $1`, d.ID); err != nil {
		return err
	}
	for _, kid := range d.KeyIDs {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1 AND org_id = $2)`, kid, d.OrgID).Scan(&ok); err != nil {
			return err
		} else if !ok {
			return roster.Errorf(roster.EINVALID, "API key %q is not a key of this organization", kid)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO directory_keys (directory_id, key_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, d.ID, kid); err != nil {
			return err
		}
	}
	return nil
}

// CreateDirectory stores a directory and the keys it accepts.
func (db *DB) CreateDirectory(ctx context.Context, d *roster.Directory) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)`, d.OrgID).Scan(&ok); err != nil {
			return err
		} else if !ok {
			return notFound("organization", d.OrgID)
		}
		d.Created = db.now()
		if _, err := tx.Exec(ctx, `INSERT INTO directories (id, org_id, name, icon, profile, created) VALUES ($1, $2, $3, $4, $5, $6)`,
			d.ID, d.OrgID, d.Name, d.Icon, d.Profile, micros(d.Created)); err != nil {
			return err
		}
		return setDirectoryKeys(ctx, tx, d)
	})
}

// UpdateDirectory replaces a directory's settings and keys.
func (db *DB) UpdateDirectory(ctx context.Context, d *roster.Directory) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE directories SET name = $1, icon = $2, profile = $3 WHERE id = $4 AND org_id = $5`, d.Name, d.Icon, d.Profile, d.ID, d.OrgID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("directory (IdP configuration)", d.ID)
		}
		return setDirectoryKeys(ctx, tx, d)
	})
}

const selectDirectory = `SELECT d.id, d.org_id, d.name, d.icon, d.profile, d.created, d.capture_bodies,
	COALESCE((SELECT array_agg(key_id ORDER BY key_id COLLATE "C") FROM directory_keys WHERE directory_id = d.id), '{}')
	FROM directories d`

func scanDirectory(row pgx.Row) (*roster.Directory, error) {
	d := &roster.Directory{}
	var created int64
	if err := row.Scan(&d.ID, &d.OrgID, &d.Name, &d.Icon, &d.Profile, &created, &d.CaptureBodies, &d.KeyIDs); err != nil {
		return nil, err
	}
	d.Created = fromMicros(created)
	if d.KeyIDs == nil {
		d.KeyIDs = []string{}
	}
	return d, nil
}

// FindDirectory returns a directory by id.
func (db *DB) FindDirectory(ctx context.Context, id string) (*roster.Directory, error) {
	d, err := scanDirectory(db.pool.QueryRow(ctx, selectDirectory+` WHERE d.id = $1`, id))
	if isNoRows(err) {
		return nil, notFound("directory (IdP configuration)", id)
	} else if err != nil {
		return nil, err
	}
	return d, nil
}

// ListDirectories returns an organization's directories, oldest first.
func (db *DB) ListDirectories(ctx context.Context, orgID string) ([]*roster.Directory, error) {
	rows, err := db.pool.Query(ctx, selectDirectory+` WHERE d.org_id = $1 ORDER BY d.created, d.id COLLATE "C"`, orgID)
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
	return db.inTx(ctx, func(tx pgx.Tx) error {
		// FOR UPDATE blocks the foreign key checks of concurrent resource
		// inserts into the directory until the deletion commits (they then
		// fail), so no resource slips in between the two deletes.
		var found string
		err := tx.QueryRow(ctx, `SELECT id FROM directories WHERE id = $1 AND org_id = $2 FOR UPDATE`, id, orgID).Scan(&found)
		if err == nil {
			// A large directory takes longer to delete than one statement
			// may run; the deletion is bounded by the directory's size.
			_, err = tx.Exec(ctx, `SET LOCAL statement_timeout = 0`)
		}
		if isNoRows(err) {
			return notFound("directory (IdP configuration)", id)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM resources WHERE dir_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM directories WHERE id = $1`, id)
		return err
	})
}

// CreateOAuthClient stores a client and its first secret.
func (db *DB) CreateOAuthClient(ctx context.Context, c *roster.OAuthClient) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM directories WHERE id = $1 AND org_id = $2)`, c.DirectoryID, c.OrgID).Scan(&ok); err != nil {
			return err
		} else if !ok {
			return notFound("directory (IdP configuration)", c.DirectoryID)
		}
		c.Created = db.now()
		if _, err := tx.Exec(ctx, `INSERT INTO oauth_clients (id, org_id, directory_id, name, users_priv, groups_priv, token_ttl, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.ID, c.OrgID, c.DirectoryID, c.Name, c.Users, c.Groups, int64(c.TokenTTL/time.Second), micros(c.Created)); err != nil {
			return err
		}
		for i := range c.Secrets {
			if err := insertSecret(ctx, tx, c.ID, &c.Secrets[i], c.Created); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertSecret(ctx context.Context, tx queryer, clientID string, s *roster.OAuthSecret, now time.Time) error {
	s.Created, s.Expires = now, asStored(s.Expires)
	_, err := tx.Exec(ctx, `INSERT INTO oauth_secrets (id, client_id, secret_hash, created, expires) VALUES ($1, $2, $3, $4, $5)`,
		s.ID, clientID, s.Hash, micros(now), nullTime(s.Expires))
	return err
}

const selectClient = `SELECT id, org_id, directory_id, name, users_priv, groups_priv, token_ttl, created FROM oauth_clients`

// scanClient scans a client from row, then reads its secrets. row must be
// a QueryRow result (or otherwise done with its connection).
func (db *DB) scanClient(ctx context.Context, row pgx.Row) (*roster.OAuthClient, error) {
	c := &roster.OAuthClient{Secrets: []roster.OAuthSecret{}}
	var ttl, created int64
	if err := row.Scan(&c.ID, &c.OrgID, &c.DirectoryID, &c.Name, &c.Users, &c.Groups, &ttl, &created); err != nil {
		return nil, err
	}
	c.TokenTTL, c.Created = time.Duration(ttl)*time.Second, fromMicros(created)
	rows, err := db.pool.Query(ctx, `SELECT id, secret_hash, created, expires, revoked FROM oauth_secrets WHERE client_id = $1 ORDER BY created, id COLLATE "C"`, c.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s roster.OAuthSecret
		var sc int64
		var exp *int64
		if err := rows.Scan(&s.ID, &s.Hash, &sc, &exp, &s.Revoked); err != nil {
			return nil, err
		}
		s.Created, s.Expires = fromMicros(sc), timePtr(exp)
		c.Secrets = append(c.Secrets, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// FindOAuthClient returns a client with its secrets.
func (db *DB) FindOAuthClient(ctx context.Context, clientID string) (*roster.OAuthClient, error) {
	c, err := db.scanClient(ctx, db.pool.QueryRow(ctx, selectClient+` WHERE id = $1`, clientID))
	if isNoRows(err) {
		return nil, notFound("OAuth client", clientID)
	} else if err != nil {
		return nil, err
	}
	return c, nil
}

// ListOAuthClients returns the clients of one directory of an organization.
func (db *DB) ListOAuthClients(ctx context.Context, orgID, dirID string) ([]*roster.OAuthClient, error) {
	rows, err := db.pool.Query(ctx, `SELECT id FROM oauth_clients WHERE org_id = $1 AND directory_id = $2 ORDER BY created, id COLLATE "C"`, orgID, dirID)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := []*roster.OAuthClient{}
	for _, id := range ids {
		c, err := db.FindOAuthClient(ctx, id)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			continue // deleted since the list was read
		} else if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// AddOAuthSecret adds a secret to a client of the organization.
func (db *DB) AddOAuthSecret(ctx context.Context, orgID, clientID string, s *roster.OAuthSecret) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM oauth_clients WHERE id = $1 AND org_id = $2)`, clientID, orgID).Scan(&ok); err != nil {
			return err
		} else if !ok {
			return notFound("OAuth client", clientID)
		}
		return insertSecret(ctx, tx, clientID, s, db.now())
	})
}

// RevokeOAuthSecret revokes one secret. Tokens already issued with it stay
// valid until they expire, at most the client's token lifetime.
func (db *DB) RevokeOAuthSecret(ctx context.Context, orgID, clientID, secretID string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE oauth_secrets SET revoked = TRUE WHERE id = $1 AND client_id IN (SELECT id FROM oauth_clients WHERE id = $2 AND org_id = $3)`, secretID, clientID, orgID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("OAuth client secret", secretID)
	}
	return nil
}

// CreateAccessToken stores an issued access token and prunes expired ones,
// so the table holds at most the tokens of one lifetime.
func (db *DB) CreateAccessToken(ctx context.Context, t *roster.AccessToken) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM access_tokens WHERE expires <= $1`, micros(db.now())); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO access_tokens (token_hash, client_id, expires) VALUES ($1, $2, $3)`, t.Hash, t.ClientID, micros(t.Expires))
		return err
	})
}

// adminOrg is how an admin's organization is stored: NULL for a server
// admin, so that the foreign key to organizations holds for the others.
func adminOrg(orgID string) *string {
	if orgID == "" {
		return nil
	}
	return &orgID
}

func insertAdmin(ctx context.Context, tx queryer, a *roster.Admin) error {
	_, err := tx.Exec(ctx, `INSERT INTO admins (id, org_id, name, secret_hash, created) VALUES ($1, $2, $3, $4, $5)`, a.ID, adminOrg(a.OrgID), a.Name, a.SecretHash, micros(a.Created))
	return err
}

// CreateAdmin stores an admin. An admin whose secret is already stored is a
// conflict, which lets `serve` re-apply ROSTER_ADMIN_TOKEN at every start.
// A revoked admin keeps its secret, so re-applying a revoked token does not
// bring it back.
func (db *DB) CreateAdmin(ctx context.Context, a *roster.Admin) error {
	a.Created = db.now()
	err := insertAdmin(ctx, db.pool, a)
	if isUnique(err) {
		return roster.Errorf(roster.ECONFLICT, "an admin with this secret already exists")
	}
	return err
}

// adminScope selects the admins of organization $1, or the server admins
// (org_id NULL) for orgID "". Two statements rather than IS NOT DISTINCT
// FROM, which no index serves. $1 is always orgID, so that argument
// numbers stay the same.
func adminScope(orgID string) string {
	if orgID == "" {
		return `org_id IS NULL AND $1 = ''`
	}
	return `org_id = $1`
}

const selectAdmin = `SELECT id, org_id, name, secret_hash, created, revoked FROM admins`

func scanAdmin(row pgx.Row) (*roster.Admin, error) {
	a := &roster.Admin{}
	var org *string
	var created int64
	if err := row.Scan(&a.ID, &org, &a.Name, &a.SecretHash, &created, &a.Revoked); err != nil {
		return nil, err
	}
	if org != nil {
		a.OrgID = *org
	}
	a.Created = fromMicros(created)
	return a, nil
}

// AuthenticateAdmin finds an admin by secret hash. A revoked admin gets the
// answer an unknown token gets, so the answer does not tell which tokens
// once worked.
func (db *DB) AuthenticateAdmin(ctx context.Context, hash []byte) (*roster.Admin, error) {
	a, err := scanAdmin(db.pool.QueryRow(ctx, selectAdmin+` WHERE secret_hash = $1`, hash))
	if isNoRows(err) || err == nil && (subtle.ConstantTimeCompare(a.SecretHash, hash) != 1 || a.Revoked) {
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
	rows, err := db.pool.Query(ctx, selectAdmin+` WHERE `+adminScope(orgID)+` ORDER BY created, id COLLATE "C"`, orgID)
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
	tag, err := db.pool.Exec(ctx, `UPDATE admins SET revoked = TRUE WHERE `+adminScope(orgID)+` AND id = $2`, orgID, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("admin", id)
	}
	return nil
}
