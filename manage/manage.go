// Package manage is Roster's admin side: organizations, API keys, IdP
// configurations (directories), OAuth clients and admins, with the rules
// that keep one organization's objects out of another's reach. The admin
// HTTP API and the `roster` subcommands both go through it, so a rule is
// written once whichever way an admin comes in.
package manage

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/scim"
)

// API is what an admin can do. *Session implements it over the store and
// the admin HTTP client implements it over the network, so the command line
// works the same against a data directory and against a running server.
type API interface {
	CreateOrganization(ctx context.Context, in OrganizationInput) (*roster.Organization, error)
	ListOrganizations(ctx context.Context) ([]*roster.Organization, error)
	GetOrganization(ctx context.Context, orgID string) (*roster.Organization, error)

	CreateAdmin(ctx context.Context, orgID string, in AdminInput) (*NewAdmin, error)
	ListAdmins(ctx context.Context, orgID string) ([]*roster.Admin, error)
	RevokeAdmin(ctx context.Context, orgID, adminID string) (*roster.Admin, error)

	CreateKey(ctx context.Context, orgID string, in KeyInput) (*NewKey, error)
	ListKeys(ctx context.Context, orgID string) ([]*roster.APIKey, error)
	GetKey(ctx context.Context, orgID, keyID string) (*roster.APIKey, error)
	RevokeKey(ctx context.Context, orgID, keyID string) (*roster.APIKey, error)

	CreateDirectory(ctx context.Context, orgID string, in DirectoryInput) (*roster.Directory, error)
	ListDirectories(ctx context.Context, orgID string) ([]*roster.Directory, error)
	GetDirectory(ctx context.Context, orgID, dirID string) (*roster.Directory, error)
	UpdateDirectory(ctx context.Context, orgID, dirID string, in DirectoryUpdate) (*roster.Directory, error)
	DeleteDirectory(ctx context.Context, orgID, dirID string) error

	CreateOAuthClient(ctx context.Context, orgID, dirID string, in OAuthClientInput) (*NewOAuthClient, error)
	ListOAuthClients(ctx context.Context, orgID, dirID string) ([]*roster.OAuthClient, error)
	AddOAuthSecret(ctx context.Context, orgID, clientID string, in SecretInput) (*NewOAuthSecret, error)
	RevokeOAuthSecret(ctx context.Context, orgID, clientID, secretID string) error

	ListProfiles(ctx context.Context) ([]*scim.Profile, error)
	GetProfile(ctx context.Context, name string) (*scim.Profile, error)

	QueryRequests(ctx context.Context, orgID string, in RequestFilter) ([]roster.RequestEntry, error)

	ListJobs(ctx context.Context, orgID string) ([]*Job, error)
	GetJob(ctx context.Context, orgID, job string) (*Job, error)
	QueryJobLog(ctx context.Context, orgID, job string, in JobLogFilter) (*JobLogPage, error)
}

// RequestFilter selects request log entries, newest first. Times are RFC
// 3339 or a duration back from now ("1h"); Status is a code ("409") or a
// class ("4xx"); Operation matches part of the summary ("PATCH", "members").
type RequestFilter struct {
	Directory  string `json:"directory,omitempty"`
	Since      string `json:"since,omitempty"`
	Until      string `json:"until,omitempty"`
	Status     string `json:"status,omitempty"`
	ResourceID string `json:"resource_id,omitempty"`
	Operation  string `json:"operation,omitempty"`
	Limit      int    `json:"limit,omitempty"`
	Before     int64  `json:"before,omitempty"`
}

// OrganizationInput creates an organization.
type OrganizationInput struct {
	Name string `json:"name"`
}

// AdminInput creates an admin of an organization.
type AdminInput struct {
	Name string `json:"name"`
}

// NewAdmin is a created admin with its secret, shown this once.
type NewAdmin struct {
	Admin  *roster.Admin `json:"admin"`
	Secret string        `json:"token"`
}

// KeyInput creates an API key. Privileges default to write on Users and
// Groups, what an identity provider needs to provision; ExpiresIn (a Go
// duration such as "8760h") is optional.
type KeyInput struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Users       string `json:"users,omitempty"`
	Groups      string `json:"groups,omitempty"`
	ExpiresIn   string `json:"expires_in,omitempty"`
}

// NewKey is a created key with its secret, shown this once.
type NewKey struct {
	Key    *roster.APIKey `json:"key"`
	Secret string         `json:"token"`
}

// DirectoryInput creates an IdP configuration.
type DirectoryInput struct {
	Name    string   `json:"name"`
	Icon    string   `json:"icon,omitempty"`
	Profile string   `json:"profile,omitempty"`
	KeyIDs  []string `json:"key_ids"`
}

// DirectoryUpdate changes the fields that are set.
type DirectoryUpdate struct {
	Name    *string   `json:"name,omitempty"`
	Icon    *string   `json:"icon,omitempty"`
	Profile *string   `json:"profile,omitempty"`
	KeyIDs  *[]string `json:"key_ids,omitempty"`
	// CaptureBodies switches recording of (redacted) request bodies in the
	// request log; off by default, since SCIM bodies are personal data.
	CaptureBodies *bool `json:"capture_bodies,omitempty"`
}

// OAuthClientInput creates an OAuth client of a directory. TokenTTL is a Go
// duration from 1h to 6h (default 1h).
type OAuthClientInput struct {
	Name     string `json:"name"`
	Users    string `json:"users,omitempty"`
	Groups   string `json:"groups,omitempty"`
	TokenTTL string `json:"token_ttl,omitempty"`
}

// NewOAuthClient is a created client with its first secret, shown once.
type NewOAuthClient struct {
	Client   *roster.OAuthClient `json:"client"`
	SecretID string              `json:"secret_id"`
	Secret   string              `json:"client_secret"`
}

// SecretInput adds a client secret; ExpiresIn is optional.
type SecretInput struct {
	ExpiresIn string `json:"expires_in,omitempty"`
}

// NewOAuthSecret is an added secret, shown this once.
type NewOAuthSecret struct {
	SecretID string `json:"secret_id"`
	Secret   string `json:"client_secret"`
}

// Service holds what sessions share.
type Service struct {
	store roster.AdminStore
	// Profiles are the attribute profiles directories may use; nil means
	// the built-in ones.
	Profiles *scim.ProfileSet
	// Requests is the request log; nil answers queries with ENOTIMPL.
	Requests roster.RequestLogStore
	// Jobs keeps the provisioning jobs, their state and their logs; nil
	// answers job queries with ENOTIMPL.
	Jobs provision.StateStore
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// New returns a service over the store; set Profiles to add custom
// profiles to the built-in ones.
func New(store roster.AdminStore) *Service {
	return &Service{store: store, Now: time.Now}
}

// Session is the service acting for one admin.
type Session struct {
	s     *Service
	actor *roster.Admin
}

var _ API = (*Session)(nil)

// As returns the API as the admin may use it: a server admin (OrgID "")
// reaches every organization, an organization admin only its own.
func (s *Service) As(actor *roster.Admin) *Session {
	return &Session{s: s, actor: actor}
}

// ServerAdmin is the actor of local commands: whoever can open the data
// directory already holds every secret in it.
var ServerAdmin = &roster.Admin{ID: "local", Name: "local command line"}

// org checks that the actor may manage orgID. Another organization answers
// ENOTFOUND, not EFORBIDDEN, so an admin cannot learn which ids exist.
func (ss *Session) org(ctx context.Context, orgID string) (*roster.Organization, error) {
	if ss.actor.OrgID != "" && ss.actor.OrgID != orgID {
		return nil, roster.Errorf(roster.ENOTFOUND, "no organization with id %q", orgID)
	}
	return ss.s.store.FindOrganization(ctx, orgID)
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return roster.Errorf(roster.EINVALID, "%s is required", field)
	}
	if utf8.RuneCountInString(v) > 200 {
		return roster.Errorf(roster.EINVALID, "%s is longer than 200 characters", field)
	}
	return nil
}

// privileges applies defaults and checks the privilege levels.
func privileges(users, groups string) (string, string, error) {
	if users == "" {
		users = roster.PrivWrite
	}
	if groups == "" {
		groups = roster.PrivWrite
	}
	for _, p := range []string{users, groups} {
		if !roster.ValidPrivilege(p) {
			return "", "", roster.Errorf(roster.EINVALID, "privilege %q is not one of none, read, write", p)
		}
	}
	return users, groups, nil
}

// expiry reads an optional "expires in" duration into an absolute time.
func (ss *Session) expiry(in string) (*time.Time, error) {
	if in == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(in)
	if err != nil || d <= 0 {
		return nil, roster.Errorf(roster.EINVALID, "expires_in %q must be a positive duration such as 720h", in)
	}
	t := ss.s.Now().UTC().Add(d)
	return &t, nil
}

// NewBootstrap returns what `roster init` creates: the first organization,
// its directory, a key with write privileges on Users and Groups, and a
// server admin, with the two secrets to show once.
func NewBootstrap() (b *roster.Bootstrap, keySecret, adminSecret string) {
	keySecret, hash := roster.NewSecret()
	adminSecret, adminHash := NewAdminSecret()
	b = &roster.Bootstrap{
		Org:   roster.Organization{ID: roster.NewID(), Name: "Default organization"},
		Dir:   roster.Directory{ID: roster.NewID(), Name: "Default directory"},
		Key:   roster.APIKey{ID: roster.NewID(), Name: "initial key", SecretHash: hash, Users: roster.PrivWrite, Groups: roster.PrivWrite},
		Admin: &roster.Admin{ID: roster.NewID(), Name: "first server admin", SecretHash: adminHash},
	}
	b.Dir.OrgID, b.Key.OrgID = b.Org.ID, b.Org.ID
	return b, keySecret, adminSecret
}
