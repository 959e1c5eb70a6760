package roster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Organization is a customer of the SaaS app that runs Roster. It owns API
// keys, admins and directories; nothing of one organization is visible to
// another.
type Organization struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// Directory is an IdP configuration: one SCIM directory with its own users
// and groups, served at /v1/scim/<ID>. Its ID is the "IdP ID" an admin
// appends to the tenant URL. KeyIDs are the API keys it accepts; two or more
// let keys rotate without downtime.
type Directory struct {
	ID      string    `json:"id"`
	OrgID   string    `json:"organization_id"`
	Name    string    `json:"name"`
	Icon    string    `json:"icon,omitempty"`
	Profile string    `json:"profile"`
	KeyIDs  []string  `json:"key_ids"`
	Created time.Time `json:"created"`
	// CaptureBodies stores request bodies, secrets redacted, in the request
	// log. Off by default: SCIM bodies are personal data. It is changed by
	// RequestLogStore.SetBodyCapture, not by UpdateDirectory.
	CaptureBodies bool `json:"capture_bodies"`
}

// Privilege levels of a credential on one resource type.
const (
	PrivNone  = "none"
	PrivRead  = "read"
	PrivWrite = "write" // write implies read
)

// ValidPrivilege reports whether p is a privilege level.
func ValidPrivilege(p string) bool {
	return p == PrivNone || p == PrivRead || p == PrivWrite
}

// allows decides a privilege check for any credential.
func allows(users, groups, resourceType string, write bool) bool {
	p := users
	if resourceType == "Group" {
		p = groups
	}
	if write {
		return p == PrivWrite
	}
	return p == PrivRead || p == PrivWrite
}

// APIKey is a bearer credential of an organization. Only the SHA-256 hash of
// its secret is stored: secrets are 130-bit random strings, so a fast hash
// is as strong as a slow one and keeps authentication off the hot path.
type APIKey struct {
	ID          string     `json:"id"`
	OrgID       string     `json:"organization_id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	SecretHash  []byte     `json:"-"`
	Users       string     `json:"users"` // PrivNone, PrivRead or PrivWrite
	Groups      string     `json:"groups"`
	Created     time.Time  `json:"created"`
	Expires     *time.Time `json:"expires,omitempty"`
	LastUsed    *time.Time `json:"last_used,omitempty"`
	Revoked     bool       `json:"revoked"`
}

// Allows reports whether the key may read (write=false) or write a resource
// type ("User" or "Group").
func (k *APIKey) Allows(resourceType string, write bool) bool {
	return allows(k.Users, k.Groups, resourceType, write)
}

// Credential is what authenticated a SCIM request: an API key or an OAuth
// access token, with the privileges it grants.
type Credential struct {
	Kind   string // "key" or "oauth"
	ID     string // the key id or the OAuth client id
	Name   string
	OrgID  string
	Users  string
	Groups string
}

// Allows reports whether the credential may read or write a resource type.
func (c *Credential) Allows(resourceType string, write bool) bool {
	return allows(c.Users, c.Groups, resourceType, write)
}

// NewSecret returns a new API key secret and its hash. The "rst_" prefix
// lets secret scanners recognise leaked Roster keys.
func NewSecret() (secret string, hash []byte) {
	secret = "rst_" + rand.Text()
	return secret, HashSecret(secret)
}

// HashSecret returns the stored form of a secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewID returns a random RFC 4122 version 4 UUID, used for every id Roster
// assigns: unguessable ids keep one directory's ids useless in another.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// Bootstrap is what `roster init` creates: the first organization, its
// first directory and an API key allowed to use it.
type Bootstrap struct {
	Org   Organization
	Dir   Directory
	Key   APIKey
	Admin *Admin // optional: the first server admin
}

// Admin is a person or script that manages Roster through the admin API.
// A server admin (OrgID "") manages every organization; an organization
// admin only its own. Admins authenticate with a bearer secret of their own,
// never with a SCIM key. A revoked admin stays stored, so that the list
// still shows who had access, but its token no longer authenticates: that
// is how a leaked admin token is taken out of use.
type Admin struct {
	ID         string    `json:"id"`
	OrgID      string    `json:"organization_id,omitempty"`
	Name       string    `json:"name"`
	SecretHash []byte    `json:"-"`
	Created    time.Time `json:"created"`
	Revoked    bool      `json:"revoked"`
}

// OAuthClient is an OAuth 2.0 client-credentials client of one directory,
// the way Entra's newer connectors authenticate. ID is the client_id.
type OAuthClient struct {
	ID          string        `json:"client_id"`
	OrgID       string        `json:"organization_id"`
	DirectoryID string        `json:"directory_id"`
	Name        string        `json:"name"`
	Users       string        `json:"users"`
	Groups      string        `json:"groups"`
	TokenTTL    time.Duration `json:"-"`
	Created     time.Time     `json:"created"`
	Secrets     []OAuthSecret `json:"secrets"`
}

// MarshalJSON writes TokenTTL as whole seconds (token_ttl_seconds), the
// unit of OAuth's expires_in, rather than Go's nanoseconds.
func (c OAuthClient) MarshalJSON() ([]byte, error) {
	type plain OAuthClient
	return json.Marshal(struct {
		plain
		TokenTTL int64 `json:"token_ttl_seconds"`
	}{plain(c), int64(c.TokenTTL / time.Second)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *OAuthClient) UnmarshalJSON(b []byte) error {
	type plain OAuthClient
	var v struct {
		plain
		TokenTTL int64 `json:"token_ttl_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = OAuthClient(v.plain)
	c.TokenTTL = time.Duration(v.TokenTTL) * time.Second
	return nil
}

// OAuthSecret is one client secret; a client may hold several so that
// secrets rotate without downtime.
type OAuthSecret struct {
	ID      string     `json:"id"`
	Hash    []byte     `json:"-"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires,omitempty"`
	Revoked bool       `json:"revoked"`
}

// Access token lifetimes. Entra's gallery validator accepts 60 to 360
// minutes, so Roster allows exactly that range and defaults to its low end:
// a short lifetime bounds how long a token outlives a revoked secret.
const (
	DefaultTokenTTL = time.Hour
	MinTokenTTL     = time.Hour
	MaxTokenTTL     = 6 * time.Hour
)

// ValidTokenTTL reports, as an EINVALID error, whether d is an allowed
// access token lifetime: whole seconds (the store keeps seconds, so anything
// finer would be silently dropped) from MinTokenTTL to MaxTokenTTL.
func ValidTokenTTL(d time.Duration) error {
	if d < MinTokenTTL || d > MaxTokenTTL {
		return Errorf(EINVALID, "the access token lifetime must be between %s and %s (3600 to 21600 seconds); got %s", MinTokenTTL, MaxTokenTTL, d)
	}
	if d%time.Second != 0 {
		return Errorf(EINVALID, "the access token lifetime must be a whole number of seconds; got %s", d)
	}
	return nil
}

// NewClientSecret returns a new OAuth client secret, to be shown to the
// admin once, and the OAuthSecret to store: a fresh id and the hash. Client
// secrets have the strength and "rst_" prefix of API keys, so secret
// scanners find both.
func NewClientSecret() (secret string, s OAuthSecret) {
	secret, hash := NewSecret()
	return secret, OAuthSecret{ID: NewID(), Hash: hash}
}

// AccessToken is an issued OAuth access token, stored by hash.
type AccessToken struct {
	Hash     []byte
	ClientID string
	Expires  time.Time
}

// AdminStore keeps organizations, directories, credentials and admins.
// Methods that take an orgID never return or change another
// organization's objects: they answer ENOTFOUND instead.
type AdminStore interface {
	// Initialized reports whether the store holds any organization.
	Initialized(ctx context.Context) (bool, error)

	// Bootstrap creates the first organization, directory and key in one
	// transaction. Returns ECONFLICT when the store is already initialized.
	Bootstrap(ctx context.Context, b *Bootstrap) error

	// Authenticate returns the credential (API key or OAuth access token)
	// whose secret hashes to hash and that the directory accepts. Returns
	// EUNAUTHORIZED when there is none, or it is revoked, expired or
	// belongs to another organization.
	Authenticate(ctx context.Context, dirID string, hash []byte) (*Credential, error)

	// FindDirectory returns a directory. Returns ENOTFOUND.
	FindDirectory(ctx context.Context, id string) (*Directory, error)

	// CreateOrganization stores a new organization.
	CreateOrganization(ctx context.Context, o *Organization) error
	// ListOrganizations returns every organization, oldest first.
	ListOrganizations(ctx context.Context) ([]*Organization, error)
	// FindOrganization returns an organization. Returns ENOTFOUND.
	FindOrganization(ctx context.Context, id string) (*Organization, error)

	// CreateAPIKey stores a new key. Returns ENOTFOUND for an unknown org.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// ListAPIKeys returns the keys of an organization, revoked ones too.
	ListAPIKeys(ctx context.Context, orgID string) ([]*APIKey, error)
	// FindAPIKey returns one key of an organization. Returns ENOTFOUND.
	FindAPIKey(ctx context.Context, orgID, id string) (*APIKey, error)
	// RevokeAPIKey revokes a key for good. Returns ENOTFOUND.
	RevokeAPIKey(ctx context.Context, orgID, id string) error

	// CreateDirectory stores a directory and the keys it accepts. Returns
	// EINVALID when a key id is not a key of the same organization.
	CreateDirectory(ctx context.Context, d *Directory) error
	// UpdateDirectory replaces name, icon, profile and keys. Returns
	// ENOTFOUND, or EINVALID as CreateDirectory.
	UpdateDirectory(ctx context.Context, d *Directory) error
	// ListDirectories returns the directories of an organization.
	ListDirectories(ctx context.Context, orgID string) ([]*Directory, error)
	// DeleteDirectory deletes a directory with its users, groups and
	// OAuth clients. Returns ENOTFOUND.
	DeleteDirectory(ctx context.Context, orgID, id string) error

	// CreateOAuthClient stores a client with its first secret.
	CreateOAuthClient(ctx context.Context, c *OAuthClient) error
	// FindOAuthClient returns a client with its secrets. Returns ENOTFOUND.
	FindOAuthClient(ctx context.Context, clientID string) (*OAuthClient, error)
	// ListOAuthClients returns the clients of a directory of the org.
	ListOAuthClients(ctx context.Context, orgID, dirID string) ([]*OAuthClient, error)
	// AddOAuthSecret adds a secret to a client. Returns ENOTFOUND.
	AddOAuthSecret(ctx context.Context, orgID, clientID string, s *OAuthSecret) error
	// RevokeOAuthSecret revokes one secret. Returns ENOTFOUND.
	RevokeOAuthSecret(ctx context.Context, orgID, clientID, secretID string) error
	// CreateAccessToken stores an issued access token.
	CreateAccessToken(ctx context.Context, t *AccessToken) error

	// CreateAdmin stores an admin.
	CreateAdmin(ctx context.Context, a *Admin) error
	// AuthenticateAdmin returns the admin whose secret hashes to hash.
	// Returns EUNAUTHORIZED when there is none or it is revoked.
	AuthenticateAdmin(ctx context.Context, hash []byte) (*Admin, error)
	// ListAdmins returns the admins of an organization, revoked ones too,
	// oldest first; orgID "" lists the server admins.
	ListAdmins(ctx context.Context, orgID string) ([]*Admin, error)
	// RevokeAdmin revokes an admin of the organization (orgID "": a server
	// admin) for good. Returns ENOTFOUND for an unknown admin or one of
	// another organization.
	RevokeAdmin(ctx context.Context, orgID, id string) error
}
