package sqlstore

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/roster-scim/roster"
)

var _ roster.AdminStore = (*Store)(nil)

// exists runs a SELECT EXISTS query and returns its answer.
func (s *Store) exists(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, query string, args ...any) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, s.q(`SELECT EXISTS (`+query+`)`), args...).Scan(&ok)
	return ok, err
}

// Initialized reports whether any organization exists.
func (s *Store) Initialized(ctx context.Context) (bool, error) {
	return s.exists(ctx, s.r, `SELECT 1 FROM organizations`)
}

// Bootstrap creates the first organization, directory and key atomically.
func (s *Store) Bootstrap(ctx context.Context, b *roster.Bootstrap) error {
	return inTx(ctx, s.w, nil, func(tx *sql.Tx) error {
		if s.d.Bootstrap != "" {
			if _, err := tx.ExecContext(ctx, s.d.Bootstrap); err != nil {
				return err
			}
		}
		if ok, err := s.exists(ctx, tx, `SELECT 1 FROM organizations`); err != nil {
			return err
		} else if ok {
			return roster.Errorf(roster.ECONFLICT, "the data directory is already initialized")
		}
		return s.insertTenant(ctx, tx, b, s.now())
	})
}

// AddTenant writes an organization, its directory and a key the directory
// accepts, as Bootstrap does but whether or not one exists: tests use it to
// add more organizations, which the AdminStore interface does not offer yet.
func AddTenant(ctx context.Context, s *Store, b *roster.Bootstrap) error {
	return inTx(ctx, s.w, nil, func(tx *sql.Tx) error { return s.insertTenant(ctx, tx, b, s.now()) })
}

func (s *Store) insertTenant(ctx context.Context, tx *sql.Tx, b *roster.Bootstrap, now time.Time) error {
	b.Org.Created, b.Dir.Created, b.Key.Created = now, now, now
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO organizations (id, name, created) VALUES (?, ?, ?)`), b.Org.ID, b.Org.Name, micros(now)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO directories (id, org_id, name, created) VALUES (?, ?, ?, ?)`), b.Dir.ID, b.Org.ID, b.Dir.Name, micros(now)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_keys (id, org_id, name, secret_hash, users_priv, groups_priv, created, expires, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		b.Key.ID, b.Org.ID, b.Key.Name, b.Key.SecretHash, b.Key.Users, b.Key.Groups, micros(now), nullTime(b.Key.Expires), b.Key.Revoked); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO directory_keys (directory_id, key_id) VALUES (?, ?)`), b.Dir.ID, b.Key.ID); err != nil {
		return err
	}
	b.Dir.KeyIDs = []string{b.Key.ID}
	if b.Admin != nil {
		b.Admin.Created = now
		return s.insertAdmin(ctx, tx, b.Admin)
	}
	return nil
}

// errBadToken is the one answer to an unknown token, whatever the reason, so
// that responses do not tell which tokens exist.
var errBadToken = roster.Errorf(roster.EUNAUTHORIZED, "the bearer token is not valid for this tenant URL")

// Authenticate finds an API key or OAuth access token that the directory
// accepts, by secret hash. The stored hash is compared again in constant
// time, so the decision never depends on how far two hashes agree.
func (s *Store) Authenticate(ctx context.Context, dirID string, hash []byte) (*roster.Credential, error) {
	c, _, err := s.authenticate(ctx, dirID, hash)
	return c, err
}

// authenticate is Authenticate, also returning when the credential expires
// (Unix microseconds, 0 for never), for the cache of AuthenticateDirectory.
func (s *Store) authenticate(ctx context.Context, dirID string, hash []byte) (*roster.Credential, int64, error) {
	var c roster.Credential
	var stored []byte
	var expires sql.NullInt64
	var revoked bool
	err := s.readRow(ctx, s.q(`
		SELECT k.id, k.org_id, k.name, k.secret_hash, k.users_priv, k.groups_priv, k.expires, k.revoked
		FROM api_keys k
		JOIN directory_keys dk ON dk.key_id = k.id
		JOIN directories d ON d.id = dk.directory_id AND d.org_id = k.org_id
		WHERE k.secret_hash = ? AND dk.directory_id = ?`), hash, dirID).
		Scan(&c.ID, &c.OrgID, &c.Name, &stored, &c.Users, &c.Groups, &expires, &revoked)
	c.Kind = "key"
	if errors.Is(err, sql.ErrNoRows) {
		c.Kind, revoked = "oauth", false
		err = s.readRow(ctx, s.q(`
			SELECT c.id, c.org_id, c.name, t.token_hash, c.users_priv, c.groups_priv, t.expires
			FROM access_tokens t JOIN oauth_clients c ON c.id = t.client_id
			WHERE t.token_hash = ? AND c.directory_id = ?`), hash, dirID).
			Scan(&c.ID, &c.OrgID, &c.Name, &stored, &c.Users, &c.Groups, &expires)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, errBadToken
	} else if err != nil {
		return nil, 0, err
	}
	now := s.now()
	switch {
	case subtle.ConstantTimeCompare(stored, hash) != 1:
		return nil, 0, errBadToken
	case revoked:
		return nil, 0, roster.Errorf(roster.EUNAUTHORIZED, "the API key %q has been revoked", c.Name)
	case expires.Valid && !now.Before(fromMicros(expires.Int64)):
		return nil, 0, expiredError(c.Kind, c.Name)
	}
	if c.Kind == "key" {
		if err := s.touchKey(ctx, c.ID, now); err != nil {
			return nil, 0, err
		}
	}
	return &c, expires.Int64, nil
}

// expiredError is the answer to an expired credential of kind "key" or
// "oauth".
func expiredError(kind, name string) error {
	if kind == "oauth" {
		return roster.Errorf(roster.EUNAUTHORIZED, "the access token has expired; request a new one from the token endpoint")
	}
	return roster.Errorf(roster.EUNAUTHORIZED, "the API key %q has expired", name)
}

// touchKey records when a key was last used. It writes at most once a
// minute per key (and replica), so authentication does not turn every SCIM
// read into a write that queues behind SQLite's single writer, or into a
// row update (and a dead tuple) on PostgreSQL. Another replica may have
// written a later time; the latest is kept.
func (s *Store) touchKey(ctx context.Context, id string, now time.Time) error {
	if last, ok := s.touched.Load(id); ok && now.Sub(last.(time.Time)) < time.Minute {
		return nil
	}
	s.touched.Store(id, now)
	_, err := s.w.ExecContext(ctx, s.q(`UPDATE api_keys SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used < ?)`), micros(now), id, micros(now))
	return err
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

// scanAll appends to out what scan reads from each row of a query.
func scanAll[T any](rows *sql.Rows, err error, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CreateOrganization stores a new organization.
func (s *Store) CreateOrganization(ctx context.Context, o *roster.Organization) error {
	o.Created = s.now()
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO organizations (id, name, created) VALUES (?, ?, ?)`), o.ID, o.Name, micros(o.Created))
	return err
}

func scanOrganization(row interface{ Scan(...any) error }) (*roster.Organization, error) {
	o := &roster.Organization{}
	var created int64
	err := row.Scan(&o.ID, &o.Name, &created)
	o.Created = fromMicros(created)
	return o, err
}

// ListOrganizations returns every organization, oldest first.
func (s *Store) ListOrganizations(ctx context.Context) ([]*roster.Organization, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, created FROM organizations ORDER BY created, id`+s.d.ByteOrder)
	return scanAll(rows, err, scanOrganization)
}

// FindOrganization returns one organization.
func (s *Store) FindOrganization(ctx context.Context, id string) (*roster.Organization, error) {
	o, err := scanOrganization(s.r.QueryRowContext(ctx, s.q(`SELECT id, name, created FROM organizations WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("organization", id)
	} else if err != nil {
		return nil, err
	}
	return o, nil
}

// CreateAPIKey stores a new key.
func (s *Store) CreateAPIKey(ctx context.Context, k *roster.APIKey) error {
	if _, err := s.FindOrganization(ctx, k.OrgID); err != nil {
		return err
	}
	k.Created, k.Expires = s.now(), asStored(k.Expires)
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO api_keys (id, org_id, name, description, secret_hash, users_priv, groups_priv, created, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), k.ID, k.OrgID, k.Name, k.Description, k.SecretHash, k.Users, k.Groups, micros(k.Created), nullTime(k.Expires))
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
func (s *Store) ListAPIKeys(ctx context.Context, orgID string) ([]*roster.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, s.q(selectKey+` WHERE org_id = ? ORDER BY created, id`+s.d.ByteOrder), orgID)
	return scanAll(rows, err, scanKey)
}

// FindAPIKey returns one key of an organization.
func (s *Store) FindAPIKey(ctx context.Context, orgID, id string) (*roster.APIKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, s.q(selectKey+` WHERE org_id = ? AND id = ?`), orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("API key", id)
	}
	return k, err
}

// RevokeAPIKey marks a key revoked; it stops working at once.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, id string) error {
	n, err := affected(s.w.ExecContext(ctx, s.q(`UPDATE api_keys SET revoked = `+s.d.True+` WHERE org_id = ? AND id = ?`), orgID, id))
	if err == nil && n == 0 {
		return notFound("API key", id)
	}
	return err
}

// setDirectoryKeys replaces the keys a directory accepts, checking that each
// belongs to the directory's organization.
func (s *Store) setDirectoryKeys(ctx context.Context, tx *sql.Tx, d *roster.Directory) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM directory_keys WHERE directory_id = ?`), d.ID); err != nil {
		return err
	}
	for _, kid := range d.KeyIDs {
		if ok, err := s.exists(ctx, tx, `SELECT 1 FROM api_keys WHERE id = ? AND org_id = ?`, kid, d.OrgID); err != nil {
			return err
		} else if !ok {
			return roster.Errorf(roster.EINVALID, "API key %q is not a key of this organization", kid)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO directory_keys (directory_id, key_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), d.ID, kid); err != nil {
			return err
		}
	}
	return nil
}

// CreateDirectory stores a directory and the keys it accepts.
func (s *Store) CreateDirectory(ctx context.Context, d *roster.Directory) error {
	return inTx(ctx, s.w, nil, func(tx *sql.Tx) error {
		if ok, err := s.exists(ctx, tx, `SELECT 1 FROM organizations WHERE id = ?`, d.OrgID); err != nil {
			return err
		} else if !ok {
			return notFound("organization", d.OrgID)
		}
		d.Created = s.now()
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO directories (id, org_id, name, icon, profile, created) VALUES (?, ?, ?, ?, ?, ?)`),
			d.ID, d.OrgID, d.Name, d.Icon, d.Profile, micros(d.Created)); err != nil {
			return err
		}
		return s.setDirectoryKeys(ctx, tx, d)
	})
}

// UpdateDirectory replaces a directory's settings and keys.
func (s *Store) UpdateDirectory(ctx context.Context, d *roster.Directory) error {
	return inTx(ctx, s.w, nil, func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, s.q(`UPDATE directories SET name = ?, icon = ?, profile = ? WHERE id = ? AND org_id = ?`), d.Name, d.Icon, d.Profile, d.ID, d.OrgID))
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound("directory (IdP configuration)", d.ID)
		}
		return s.setDirectoryKeys(ctx, tx, d)
	})
}

// selectDirectory reads directories d with their key ids, in byte order.
func (s *Store) selectDirectory() string {
	return `SELECT d.id, d.org_id, d.name, d.icon, d.profile, d.created, d.capture_bodies,
	(SELECT string_agg(key_id, ',' ORDER BY key_id` + s.d.ByteOrder + `) FROM directory_keys WHERE directory_id = d.id)
	FROM directories d`
}

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
func (s *Store) FindDirectory(ctx context.Context, id string) (*roster.Directory, error) {
	d, err := scanDirectory(s.readRow(ctx, s.q(s.selectDirectory()+` WHERE d.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("directory (IdP configuration)", id)
	}
	return d, err
}

// ListDirectories returns an organization's directories, oldest first.
func (s *Store) ListDirectories(ctx context.Context, orgID string) ([]*roster.Directory, error) {
	rows, err := s.r.QueryContext(ctx, s.q(s.selectDirectory()+` WHERE d.org_id = ? ORDER BY d.created, d.id`+s.d.ByteOrder), orgID)
	return scanAll(rows, err, scanDirectory)
}

// DeleteDirectory deletes a directory with its resources; emails,
// memberships, key links and OAuth clients follow by cascade. On
// PostgreSQL the directory's row lock (ForUpdate) blocks the foreign key
// checks of concurrent resource inserts into the directory until the
// deletion commits (they then fail), so no resource slips in between the
// two deletes.
func (s *Store) DeleteDirectory(ctx context.Context, orgID, id string) error {
	return inTx(ctx, s.w, nil, func(tx *sql.Tx) error {
		var found string
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM directories WHERE id = ? AND org_id = ?`+s.d.ForUpdate), id, orgID).Scan(&found)
		if err == nil && s.d.NoTimeout != "" {
			// The deletion is bounded by the directory's size.
			_, err = tx.ExecContext(ctx, s.d.NoTimeout)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("directory (IdP configuration)", id)
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM resources WHERE dir_id = ?`), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM directories WHERE id = ?`), id)
		return err
	})
}

// CreateOAuthClient stores a client and its first secret.
func (s *Store) CreateOAuthClient(ctx context.Context, c *roster.OAuthClient) error {
	return inTx(ctx, s.w, nil, func(tx *sql.Tx) error {
		if ok, err := s.exists(ctx, tx, `SELECT 1 FROM directories WHERE id = ? AND org_id = ?`, c.DirectoryID, c.OrgID); err != nil {
			return err
		} else if !ok {
			return notFound("directory (IdP configuration)", c.DirectoryID)
		}
		c.Created = s.now()
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO oauth_clients (id, org_id, directory_id, name, users_priv, groups_priv, token_ttl, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			c.ID, c.OrgID, c.DirectoryID, c.Name, c.Users, c.Groups, int64(c.TokenTTL/time.Second), micros(c.Created))
		if s.d.IsForeignKey(err) {
			// Deleted (through another replica) since the check above.
			return notFound("directory (IdP configuration)", c.DirectoryID)
		} else if err != nil {
			return err
		}
		for i := range c.Secrets {
			if err := s.insertSecret(ctx, tx, c.ID, &c.Secrets[i], c.Created); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) insertSecret(ctx context.Context, tx *sql.Tx, clientID string, sec *roster.OAuthSecret, now time.Time) error {
	sec.Created, sec.Expires = now, asStored(sec.Expires)
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO oauth_secrets (id, client_id, secret_hash, created, expires) VALUES (?, ?, ?, ?, ?)`),
		sec.ID, clientID, sec.Hash, micros(now), nullTime(sec.Expires))
	return err
}

const selectClient = `SELECT id, org_id, directory_id, name, users_priv, groups_priv, token_ttl, created FROM oauth_clients`

// scanClient scans a client from row, then reads its secrets. row must be
// a QueryRow result (or otherwise done with its connection).
func (s *Store) scanClient(ctx context.Context, row *sql.Row) (*roster.OAuthClient, error) {
	c := &roster.OAuthClient{}
	var ttl, created int64
	if err := row.Scan(&c.ID, &c.OrgID, &c.DirectoryID, &c.Name, &c.Users, &c.Groups, &ttl, &created); err != nil {
		return nil, err
	}
	c.TokenTTL, c.Created = time.Duration(ttl)*time.Second, fromMicros(created)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, secret_hash, created, expires, revoked FROM oauth_secrets WHERE client_id = ? ORDER BY created, id`+s.d.ByteOrder), c.ID)
	c.Secrets, err = scanAll(rows, err, func(row interface{ Scan(...any) error }) (roster.OAuthSecret, error) {
		var sec roster.OAuthSecret
		var created int64
		var exp sql.NullInt64
		err := row.Scan(&sec.ID, &sec.Hash, &created, &exp, &sec.Revoked)
		sec.Created, sec.Expires = fromMicros(created), timePtr(exp)
		return sec, err
	})
	return c, err
}

// FindOAuthClient returns a client with its secrets.
func (s *Store) FindOAuthClient(ctx context.Context, clientID string) (*roster.OAuthClient, error) {
	c, err := s.scanClient(ctx, s.r.QueryRowContext(ctx, s.q(selectClient+` WHERE id = ?`), clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("OAuth client", clientID)
	} else if err != nil {
		return nil, err
	}
	return c, nil
}

// ListOAuthClients returns the clients of one directory of an organization.
func (s *Store) ListOAuthClients(ctx context.Context, orgID, dirID string) ([]*roster.OAuthClient, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id FROM oauth_clients WHERE org_id = ? AND directory_id = ? ORDER BY created, id`+s.d.ByteOrder), orgID, dirID)
	ids, err := scanAll(rows, err, func(row interface{ Scan(...any) error }) (id string, err error) {
		return id, row.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	out := []*roster.OAuthClient{}
	for _, id := range ids {
		c, err := s.FindOAuthClient(ctx, id)
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
func (s *Store) AddOAuthSecret(ctx context.Context, orgID, clientID string, sec *roster.OAuthSecret) error {
	return inTx(ctx, s.w, nil, func(tx *sql.Tx) error {
		if ok, err := s.exists(ctx, tx, `SELECT 1 FROM oauth_clients WHERE id = ? AND org_id = ?`, clientID, orgID); err != nil {
			return err
		} else if !ok {
			return notFound("OAuth client", clientID)
		}
		return s.insertSecret(ctx, tx, clientID, sec, s.now())
	})
}

// RevokeOAuthSecret revokes one secret. Tokens already issued with it stay
// valid until they expire, at most the client's token lifetime.
func (s *Store) RevokeOAuthSecret(ctx context.Context, orgID, clientID, secretID string) error {
	n, err := affected(s.w.ExecContext(ctx, s.q(`UPDATE oauth_secrets SET revoked = `+s.d.True+` WHERE id = ? AND client_id IN (SELECT id FROM oauth_clients WHERE id = ? AND org_id = ?)`), secretID, clientID, orgID))
	if err == nil && n == 0 {
		return notFound("OAuth client secret", secretID)
	}
	return err
}

// CreateAccessToken stores an issued access token and prunes expired ones,
// so the table holds at most the tokens of one lifetime.
func (s *Store) CreateAccessToken(ctx context.Context, t *roster.AccessToken) error {
	return inTx(ctx, s.w, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM access_tokens WHERE expires <= ?`), micros(s.now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO access_tokens (token_hash, client_id, expires) VALUES (?, ?, ?)`), t.Hash, t.ClientID, micros(t.Expires))
		return err
	})
}

// adminOrg is how an admin's organization is stored: NULL for a server
// admin, so that the foreign key to organizations holds for the others.
func adminOrg(orgID string) sql.NullString {
	return sql.NullString{String: orgID, Valid: orgID != ""}
}

func (s *Store) insertAdmin(ctx context.Context, tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, a *roster.Admin) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO admins (id, org_id, name, secret_hash, created) VALUES (?, ?, ?, ?, ?)`), a.ID, adminOrg(a.OrgID), a.Name, a.SecretHash, micros(a.Created))
	return err
}

// CreateAdmin stores an admin. An admin whose secret is already stored is a
// conflict, which lets `serve` re-apply ROSTER_ADMIN_TOKEN at every start.
// A revoked admin keeps its secret, so re-applying a revoked token does not
// bring it back.
func (s *Store) CreateAdmin(ctx context.Context, a *roster.Admin) error {
	a.Created = s.now()
	err := s.insertAdmin(ctx, s.w, a)
	if s.d.IsUnique(err) {
		return roster.Errorf(roster.ECONFLICT, "an admin with this secret already exists")
	}
	return err
}

// adminScope selects the admins of organization ?, or the server admins
// (org_id NULL) for orgID "". Two statements rather than IS NOT DISTINCT
// FROM, which no PostgreSQL index serves. The one argument is always
// orgID, so that the arguments that follow keep their numbers.
func adminScope(orgID string) string {
	if orgID == "" {
		return `org_id IS NULL AND ? = ''`
	}
	return `org_id = ?`
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
func (s *Store) AuthenticateAdmin(ctx context.Context, hash []byte) (*roster.Admin, error) {
	a, err := scanAdmin(s.r.QueryRowContext(ctx, s.q(selectAdmin+` WHERE secret_hash = ?`), hash))
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
func (s *Store) ListAdmins(ctx context.Context, orgID string) ([]*roster.Admin, error) {
	rows, err := s.r.QueryContext(ctx, s.q(selectAdmin+` WHERE `+adminScope(orgID)+` ORDER BY created, id`+s.d.ByteOrder), orgID)
	return scanAll(rows, err, func(row interface{ Scan(...any) error }) (*roster.Admin, error) {
		a, err := scanAdmin(row)
		if a != nil {
			a.SecretHash = nil // lists never carry secrets, not even hashed
		}
		return a, err
	})
}

// RevokeAdmin marks an admin revoked; its token stops working at once,
// since every admin request authenticates anew.
func (s *Store) RevokeAdmin(ctx context.Context, orgID, id string) error {
	n, err := affected(s.w.ExecContext(ctx, s.q(`UPDATE admins SET revoked = `+s.d.True+` WHERE `+adminScope(orgID)+` AND id = ?`), orgID, id))
	if err == nil && n == 0 {
		return notFound("admin", id)
	}
	return err
}
