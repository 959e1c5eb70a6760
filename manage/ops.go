package manage

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// CreateOrganization creates an organization; only server admins may.
func (ss *Session) CreateOrganization(ctx context.Context, in OrganizationInput) (*roster.Organization, error) {
	if ss.actor.OrgID != "" {
		return nil, roster.Errorf(roster.EFORBIDDEN, "only a server admin can create organizations")
	}
	if err := required("name", in.Name); err != nil {
		return nil, err
	}
	o := &roster.Organization{ID: roster.NewID(), Name: in.Name}
	return o, ss.s.store.CreateOrganization(ctx, o)
}

// ListOrganizations returns the organizations the actor can see.
func (ss *Session) ListOrganizations(ctx context.Context) ([]*roster.Organization, error) {
	if ss.actor.OrgID != "" {
		o, err := ss.s.store.FindOrganization(ctx, ss.actor.OrgID)
		if err != nil {
			return nil, err
		}
		return []*roster.Organization{o}, nil
	}
	return ss.s.store.ListOrganizations(ctx)
}

// GetOrganization returns one organization.
func (ss *Session) GetOrganization(ctx context.Context, orgID string) (*roster.Organization, error) {
	return ss.org(ctx, orgID)
}

// adminScope checks that the actor may manage the admins of orgID. The
// organization "" stands for the server admins, whom only server admins
// manage, so that a leaked server admin token can be revoked too.
func (ss *Session) adminScope(ctx context.Context, orgID string) error {
	if orgID != "" {
		_, err := ss.org(ctx, orgID)
		return err
	}
	if ss.actor.OrgID != "" {
		return roster.Errorf(roster.EFORBIDDEN, "only server admins manage server admins")
	}
	return nil
}

// CreateAdmin creates an admin of an organization. Its secret is returned
// once and stored only as a hash.
func (ss *Session) CreateAdmin(ctx context.Context, orgID string, in AdminInput) (*NewAdmin, error) {
	if err := ss.adminScope(ctx, orgID); err != nil {
		return nil, err
	}
	if err := required("name", in.Name); err != nil {
		return nil, err
	}
	secret, hash := NewAdminSecret()
	a := &roster.Admin{ID: roster.NewID(), OrgID: orgID, Name: in.Name, SecretHash: hash}
	if err := ss.s.store.CreateAdmin(ctx, a); err != nil {
		return nil, err
	}
	return &NewAdmin{Admin: a, Secret: secret}, nil
}

// ListAdmins returns an organization's admins, revoked ones too, without
// secrets: an admin checks there who can manage the organization.
func (ss *Session) ListAdmins(ctx context.Context, orgID string) ([]*roster.Admin, error) {
	if err := ss.adminScope(ctx, orgID); err != nil {
		return nil, err
	}
	return ss.s.store.ListAdmins(ctx, orgID)
}

// RevokeAdmin revokes an admin of an organization; requests with its token
// get 401 from then on. This is how a leaked admin token is taken out of
// use. An admin may not revoke itself: with no other admin left, the
// organization would be locked out until a server admin steps in.
func (ss *Session) RevokeAdmin(ctx context.Context, orgID, adminID string) (*roster.Admin, error) {
	if err := ss.adminScope(ctx, orgID); err != nil {
		return nil, err
	}
	if ss.actor.OrgID == orgID && adminID == ss.actor.ID {
		return nil, roster.Errorf(roster.EINVALID, "an admin cannot revoke itself; have another admin of the organization (or a server admin) revoke %q", adminID)
	}
	if err := ss.s.store.RevokeAdmin(ctx, orgID, adminID); err != nil {
		return nil, err
	}
	admins, err := ss.s.store.ListAdmins(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, a := range admins {
		if a.ID == adminID {
			return a, nil
		}
	}
	return nil, roster.Errorf(roster.ENOTFOUND, "no admin with id %q", adminID)
}

// NewAdminSecret returns a new admin token and its hash. The "rsa_" prefix
// tells it apart from SCIM keys ("rst_") in a scanner's report.
func NewAdminSecret() (string, []byte) {
	secret, _ := roster.NewSecret()
	secret = "rsa_" + secret[len("rst_"):]
	return secret, roster.HashSecret(secret)
}

// CreateKey creates an API key; the secret is returned this once.
func (ss *Session) CreateKey(ctx context.Context, orgID string, in KeyInput) (*NewKey, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	if err := required("name", in.Name); err != nil {
		return nil, err
	}
	users, groups, err := privileges(in.Users, in.Groups)
	if err != nil {
		return nil, err
	}
	expires, err := ss.expiry(in.ExpiresIn)
	if err != nil {
		return nil, err
	}
	secret, hash := roster.NewSecret()
	k := &roster.APIKey{ID: roster.NewID(), OrgID: orgID, Name: in.Name, Description: in.Description,
		SecretHash: hash, Users: users, Groups: groups, Expires: expires}
	if err := ss.s.store.CreateAPIKey(ctx, k); err != nil {
		return nil, err
	}
	return &NewKey{Key: k, Secret: secret}, nil
}

// ListKeys returns an organization's keys, without secrets.
func (ss *Session) ListKeys(ctx context.Context, orgID string) ([]*roster.APIKey, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	return ss.s.store.ListAPIKeys(ctx, orgID)
}

// GetKey returns one key.
func (ss *Session) GetKey(ctx context.Context, orgID, keyID string) (*roster.APIKey, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	return ss.s.store.FindAPIKey(ctx, orgID, keyID)
}

// RevokeKey revokes a key; requests with it get 401 from then on.
func (ss *Session) RevokeKey(ctx context.Context, orgID, keyID string) (*roster.APIKey, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	if err := ss.s.store.RevokeAPIKey(ctx, orgID, keyID); err != nil {
		return nil, err
	}
	return ss.s.store.FindAPIKey(ctx, orgID, keyID)
}

func (ss *Session) checkProfile(p string) error {
	if ss.s.Profiles.Lookup(p) == nil {
		return roster.Errorf(roster.EINVALID, "unknown profile %q; `roster profile list` shows the profiles", p)
	}
	return nil
}

// CreateDirectory creates an IdP configuration with the keys it accepts.
func (ss *Session) CreateDirectory(ctx context.Context, orgID string, in DirectoryInput) (*roster.Directory, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	if err := required("name", in.Name); err != nil {
		return nil, err
	}
	if in.Profile == "" {
		in.Profile = "generic"
	}
	if err := ss.checkProfile(in.Profile); err != nil {
		return nil, err
	}
	d := &roster.Directory{ID: roster.NewID(), OrgID: orgID, Name: in.Name, Icon: in.Icon, Profile: in.Profile, KeyIDs: in.KeyIDs}
	if d.KeyIDs == nil {
		d.KeyIDs = []string{}
	}
	if err := ss.s.store.CreateDirectory(ctx, d); err != nil {
		return nil, err
	}
	return ss.s.store.FindDirectory(ctx, d.ID)
}

// ListDirectories returns an organization's IdP configurations.
func (ss *Session) ListDirectories(ctx context.Context, orgID string) ([]*roster.Directory, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	return ss.s.store.ListDirectories(ctx, orgID)
}

// GetDirectory returns one IdP configuration of the organization.
func (ss *Session) GetDirectory(ctx context.Context, orgID, dirID string) (*roster.Directory, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	d, err := ss.s.store.FindDirectory(ctx, dirID)
	if err != nil {
		return nil, err
	}
	if d.OrgID != orgID {
		return nil, roster.Errorf(roster.ENOTFOUND, "no directory (IdP configuration) with id %q", dirID)
	}
	return d, nil
}

// UpdateDirectory changes the given fields of an IdP configuration.
func (ss *Session) UpdateDirectory(ctx context.Context, orgID, dirID string, in DirectoryUpdate) (*roster.Directory, error) {
	d, err := ss.GetDirectory(ctx, orgID, dirID)
	if err != nil {
		return nil, err
	}
	if in.Name != nil {
		if err := required("name", *in.Name); err != nil {
			return nil, err
		}
		d.Name = *in.Name
	}
	if in.Icon != nil {
		d.Icon = *in.Icon
	}
	if in.Profile != nil {
		if err := ss.checkProfile(*in.Profile); err != nil {
			return nil, err
		}
		d.Profile = *in.Profile
	}
	if in.KeyIDs != nil {
		d.KeyIDs = *in.KeyIDs
	}
	if err := ss.s.store.UpdateDirectory(ctx, d); err != nil {
		return nil, err
	}
	if in.CaptureBodies != nil {
		if ss.s.Requests == nil {
			return nil, roster.Errorf(roster.ENOTIMPL, "this server keeps no request log")
		}
		if err := ss.s.Requests.SetBodyCapture(ctx, orgID, dirID, *in.CaptureBodies); err != nil {
			return nil, err
		}
	}
	return ss.s.store.FindDirectory(ctx, dirID)
}

// DeleteDirectory deletes an IdP configuration with its users and groups.
func (ss *Session) DeleteDirectory(ctx context.Context, orgID, dirID string) error {
	if _, err := ss.org(ctx, orgID); err != nil {
		return err
	}
	return ss.s.store.DeleteDirectory(ctx, orgID, dirID)
}

// CreateOAuthClient creates a client-credentials client of a directory
// with its first secret.
func (ss *Session) CreateOAuthClient(ctx context.Context, orgID, dirID string, in OAuthClientInput) (*NewOAuthClient, error) {
	if _, err := ss.GetDirectory(ctx, orgID, dirID); err != nil {
		return nil, err
	}
	if err := required("name", in.Name); err != nil {
		return nil, err
	}
	users, groups, err := privileges(in.Users, in.Groups)
	if err != nil {
		return nil, err
	}
	ttl := roster.DefaultTokenTTL
	if in.TokenTTL != "" {
		if ttl, err = time.ParseDuration(in.TokenTTL); err != nil {
			return nil, roster.Errorf(roster.EINVALID, "token_ttl %q must be a duration from 1h to 6h, such as 2h", in.TokenTTL)
		}
	}
	if err := roster.ValidTokenTTL(ttl); err != nil {
		return nil, err
	}
	secret, s := roster.NewClientSecret()
	c := &roster.OAuthClient{ID: roster.NewID(), OrgID: orgID, DirectoryID: dirID, Name: in.Name,
		Users: users, Groups: groups, TokenTTL: ttl, Secrets: []roster.OAuthSecret{s}}
	if err := ss.s.store.CreateOAuthClient(ctx, c); err != nil {
		return nil, err
	}
	return &NewOAuthClient{Client: c, SecretID: s.ID, Secret: secret}, nil
}

// ListOAuthClients returns the clients of a directory, without secrets.
func (ss *Session) ListOAuthClients(ctx context.Context, orgID, dirID string) ([]*roster.OAuthClient, error) {
	if _, err := ss.GetDirectory(ctx, orgID, dirID); err != nil {
		return nil, err
	}
	return ss.s.store.ListOAuthClients(ctx, orgID, dirID)
}

// AddOAuthSecret adds a secret to a client, for rotation without downtime.
func (ss *Session) AddOAuthSecret(ctx context.Context, orgID, clientID string, in SecretInput) (*NewOAuthSecret, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	expires, err := ss.expiry(in.ExpiresIn)
	if err != nil {
		return nil, err
	}
	secret, s := roster.NewClientSecret()
	s.Expires = expires
	if err := ss.s.store.AddOAuthSecret(ctx, orgID, clientID, &s); err != nil {
		return nil, err
	}
	return &NewOAuthSecret{SecretID: s.ID, Secret: secret}, nil
}

// RevokeOAuthSecret revokes one client secret.
func (ss *Session) RevokeOAuthSecret(ctx context.Context, orgID, clientID, secretID string) error {
	if _, err := ss.org(ctx, orgID); err != nil {
		return err
	}
	return ss.s.store.RevokeOAuthSecret(ctx, orgID, clientID, secretID)
}

// ListProfiles returns the attribute profiles a directory may use.
func (ss *Session) ListProfiles(ctx context.Context) ([]*scim.Profile, error) {
	return ss.s.Profiles.All(), nil
}

// GetProfile returns one attribute profile by name.
func (ss *Session) GetProfile(ctx context.Context, name string) (*scim.Profile, error) {
	if p := ss.s.Profiles.Lookup(name); p != nil && name != "" {
		return p, nil
	}
	return nil, roster.Errorf(roster.ENOTFOUND, "no profile %q; `roster profile list` shows the profiles", name)
}

// QueryRequests reads the organization's request log.
func (ss *Session) QueryRequests(ctx context.Context, orgID string, in RequestFilter) ([]roster.RequestEntry, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	if ss.s.Requests == nil {
		return nil, roster.Errorf(roster.ENOTIMPL, "this server keeps no request log")
	}
	q := roster.RequestQuery{OrgID: orgID, DirectoryID: in.Directory, ResourceID: in.ResourceID,
		Operation: in.Operation, Limit: in.Limit, Before: in.Before}
	var err error
	if q.Since, err = ss.pointInTime("since", in.Since); err != nil {
		return nil, err
	}
	if q.Until, err = ss.pointInTime("until", in.Until); err != nil {
		return nil, err
	}
	if in.Status != "" {
		if c, ok := strings.CutSuffix(strings.ToLower(in.Status), "xx"); ok && len(c) == 1 && c[0] >= '1' && c[0] <= '5' {
			q.StatusClass = int(c[0] - '0')
		} else if q.Status, err = strconv.Atoi(in.Status); err != nil || q.Status < 100 || q.Status > 599 {
			return nil, roster.Errorf(roster.EINVALID, "status %q must be a status code such as 409 or a class such as 4xx", in.Status)
		}
	}
	if in.Limit < 0 || in.Limit > roster.MaxRequestLimit {
		return nil, roster.Errorf(roster.EINVALID, "limit must be from 1 to %d", roster.MaxRequestLimit)
	}
	return ss.s.Requests.QueryRequests(ctx, q)
}

// pointInTime reads an RFC 3339 time or a duration back from now.
func (ss *Session) pointInTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return ss.s.Now().Add(-d), nil
	}
	return time.Time{}, roster.Errorf(roster.EINVALID, "%s %q must be a time such as 2026-11-25T10:00:00Z or a duration back from now such as 2h", field, v)
}
