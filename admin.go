package roster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Organization is a customer of the SaaS app that runs Roster. It owns API
// keys and directories; nothing of one organization is visible to another.
type Organization struct {
	ID      string
	Name    string
	Created time.Time
}

// Directory is an IdP configuration: one SCIM directory with its own users
// and groups, served at /v1/scim/<ID>. Its ID is the "IdP ID" an admin
// appends to the tenant URL.
type Directory struct {
	ID      string
	OrgID   string
	Name    string
	Created time.Time
}

// Privilege levels of an API key on one resource type.
const (
	PrivNone  = "none"
	PrivRead  = "read"
	PrivWrite = "write" // write implies read
)

// APIKey is a bearer credential of an organization. Only the SHA-256 hash of
// its secret is stored: secrets are 130-bit random strings, so a fast hash
// is as strong as a slow one and keeps authentication off the hot path.
type APIKey struct {
	ID         string
	OrgID      string
	Name       string
	SecretHash []byte
	Users      string // PrivNone, PrivRead or PrivWrite
	Groups     string
	Created    time.Time
	Expires    *time.Time
	Revoked    bool
}

// Allows reports whether the key may read (write=false) or write a resource
// type ("User" or "Group").
func (k *APIKey) Allows(resourceType string, write bool) bool {
	p := k.Users
	if resourceType == "Group" {
		p = k.Groups
	}
	if write {
		return p == PrivWrite
	}
	return p == PrivRead || p == PrivWrite
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
	Org Organization
	Dir Directory
	Key APIKey
}

// AdminStore keeps organizations, directories and API keys.
type AdminStore interface {
	// Initialized reports whether the store holds any organization.
	Initialized(ctx context.Context) (bool, error)

	// Bootstrap creates the first organization, directory and key in one
	// transaction. Returns ECONFLICT when the store is already initialized.
	Bootstrap(ctx context.Context, b *Bootstrap) error

	// Authenticate returns the key whose secret hashes to hash and that the
	// directory accepts. Returns EUNAUTHORIZED when there is no such key,
	// or it is revoked, expired or belongs to another organization.
	Authenticate(ctx context.Context, dirID string, hash []byte) (*APIKey, error)

	// FindDirectory returns a directory. Returns ENOTFOUND.
	FindDirectory(ctx context.Context, id string) (*Directory, error)
}
