// Package adminclient calls a running Roster's admin API. It implements
// manage.API, so the `roster` subcommands run the same code against a
// server as against a local data directory.
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/adminhttp"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/scim"
)

// Client is an admin API client.
type Client struct {
	base  string
	token string
	http  *http.Client
}

var _ manage.API = (*Client)(nil)

// New returns a client for the server at base (e.g. https://roster.example.com)
// that authenticates with an admin token.
func New(base, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: hc}
}

// do sends one request and decodes the JSON answer into out. Error answers
// become *roster.Error with the server's code and message, so callers see
// the same errors as in local mode.
func (c *Client) do(ctx context.Context, method string, out any, in any, path ...string) error {
	for i, p := range path {
		if i%2 == 1 { // odd elements are ids: escape them
			// "", "." and ".." would not stay one path segment: the
			// server's mux cleans them away and redirects, so the request
			// would reach another route (a POST turned into a GET). No
			// object has such an id, so answer as the server would.
			if p == "" || p == "." || p == ".." {
				return roster.Errorf(roster.ENOTFOUND, "no %s with id %q", objectName[path[i-1]], p)
			}
			path[i] = url.PathEscape(p)
		}
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/v1/admin/"+strings.Join(path, "/"), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var e adminhttp.ErrorBody
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error.Code == "" {
			return fmt.Errorf("admin API: %s %s answered %s", method, req.URL.Path, resp.Status)
		}
		return &roster.Error{Code: e.Error.Code, Message: e.Error.Message}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// objectName names the object an id in a path refers to, for errors.
var objectName = map[string]string{
	"organizations": "organization", "admins": "admin", "keys": "API key", "directories": "directory (IdP configuration)",
	"oauth-clients": "OAuth client", "secrets": "OAuth client secret", "jobs": "job",
}

// call is do for a result of type T.
func call[T any](ctx context.Context, c *Client, method string, in any, path ...string) (T, error) {
	var out T
	err := c.do(ctx, method, &out, in, path...)
	return out, err
}

// CreateOrganization implements manage.API.
func (c *Client) CreateOrganization(ctx context.Context, in manage.OrganizationInput) (*roster.Organization, error) {
	return call[*roster.Organization](ctx, c, "POST", in, "organizations")
}

// ListOrganizations implements manage.API.
func (c *Client) ListOrganizations(ctx context.Context) ([]*roster.Organization, error) {
	return call[[]*roster.Organization](ctx, c, "GET", nil, "organizations")
}

// GetOrganization implements manage.API.
func (c *Client) GetOrganization(ctx context.Context, orgID string) (*roster.Organization, error) {
	return call[*roster.Organization](ctx, c, "GET", nil, "organizations", orgID)
}

// adminsPath is where the admins of an organization live; organization ""
// means the server admins.
func adminsPath(orgID string) []string {
	if orgID == "" {
		return []string{"server-admins"}
	}
	return []string{"organizations", orgID, "admins"}
}

// CreateAdmin implements manage.API.
func (c *Client) CreateAdmin(ctx context.Context, orgID string, in manage.AdminInput) (*manage.NewAdmin, error) {
	return call[*manage.NewAdmin](ctx, c, "POST", in, adminsPath(orgID)...)
}

// ListAdmins implements manage.API.
func (c *Client) ListAdmins(ctx context.Context, orgID string) ([]*roster.Admin, error) {
	return call[[]*roster.Admin](ctx, c, "GET", nil, adminsPath(orgID)...)
}

// RevokeAdmin implements manage.API.
func (c *Client) RevokeAdmin(ctx context.Context, orgID, adminID string) (*roster.Admin, error) {
	return call[*roster.Admin](ctx, c, "DELETE", nil, append(adminsPath(orgID), adminID)...)
}

// CreateKey implements manage.API.
func (c *Client) CreateKey(ctx context.Context, orgID string, in manage.KeyInput) (*manage.NewKey, error) {
	return call[*manage.NewKey](ctx, c, "POST", in, "organizations", orgID, "keys")
}

// ListKeys implements manage.API.
func (c *Client) ListKeys(ctx context.Context, orgID string) ([]*roster.APIKey, error) {
	return call[[]*roster.APIKey](ctx, c, "GET", nil, "organizations", orgID, "keys")
}

// GetKey implements manage.API.
func (c *Client) GetKey(ctx context.Context, orgID, keyID string) (*roster.APIKey, error) {
	return call[*roster.APIKey](ctx, c, "GET", nil, "organizations", orgID, "keys", keyID)
}

// RevokeKey implements manage.API.
func (c *Client) RevokeKey(ctx context.Context, orgID, keyID string) (*roster.APIKey, error) {
	return call[*roster.APIKey](ctx, c, "DELETE", nil, "organizations", orgID, "keys", keyID)
}

// CreateDirectory implements manage.API.
func (c *Client) CreateDirectory(ctx context.Context, orgID string, in manage.DirectoryInput) (*roster.Directory, error) {
	return call[*roster.Directory](ctx, c, "POST", in, "organizations", orgID, "directories")
}

// ListDirectories implements manage.API.
func (c *Client) ListDirectories(ctx context.Context, orgID string) ([]*roster.Directory, error) {
	return call[[]*roster.Directory](ctx, c, "GET", nil, "organizations", orgID, "directories")
}

// GetDirectory implements manage.API.
func (c *Client) GetDirectory(ctx context.Context, orgID, dirID string) (*roster.Directory, error) {
	return call[*roster.Directory](ctx, c, "GET", nil, "organizations", orgID, "directories", dirID)
}

// UpdateDirectory implements manage.API.
func (c *Client) UpdateDirectory(ctx context.Context, orgID, dirID string, in manage.DirectoryUpdate) (*roster.Directory, error) {
	return call[*roster.Directory](ctx, c, "PATCH", in, "organizations", orgID, "directories", dirID)
}

// DeleteDirectory implements manage.API.
func (c *Client) DeleteDirectory(ctx context.Context, orgID, dirID string) error {
	return c.do(ctx, "DELETE", nil, nil, "organizations", orgID, "directories", dirID)
}

// CreateOAuthClient implements manage.API.
func (c *Client) CreateOAuthClient(ctx context.Context, orgID, dirID string, in manage.OAuthClientInput) (*manage.NewOAuthClient, error) {
	return call[*manage.NewOAuthClient](ctx, c, "POST", in, "organizations", orgID, "directories", dirID, "oauth-clients")
}

// ListOAuthClients implements manage.API.
func (c *Client) ListOAuthClients(ctx context.Context, orgID, dirID string) ([]*roster.OAuthClient, error) {
	return call[[]*roster.OAuthClient](ctx, c, "GET", nil, "organizations", orgID, "directories", dirID, "oauth-clients")
}

// AddOAuthSecret implements manage.API.
func (c *Client) AddOAuthSecret(ctx context.Context, orgID, clientID string, in manage.SecretInput) (*manage.NewOAuthSecret, error) {
	return call[*manage.NewOAuthSecret](ctx, c, "POST", in, "organizations", orgID, "oauth-clients", clientID, "secrets")
}

// RevokeOAuthSecret implements manage.API.
func (c *Client) RevokeOAuthSecret(ctx context.Context, orgID, clientID, secretID string) error {
	return c.do(ctx, "DELETE", nil, nil, "organizations", orgID, "oauth-clients", clientID, "secrets", secretID)
}

// ListProfiles implements manage.API.
func (c *Client) ListProfiles(ctx context.Context) ([]*scim.Profile, error) {
	return call[[]*scim.Profile](ctx, c, "GET", nil, "profiles")
}

// GetProfile implements manage.API.
func (c *Client) GetProfile(ctx context.Context, name string) (*scim.Profile, error) {
	return call[*scim.Profile](ctx, c, "GET", nil, "profiles", name)
}

// QueryRequests implements manage.API.
func (c *Client) QueryRequests(ctx context.Context, orgID string, in manage.RequestFilter) ([]roster.RequestEntry, error) {
	q := url.Values{}
	for k, v := range map[string]string{"directory": in.Directory, "since": in.Since, "until": in.Until, "status": in.Status,
		"resource_id": in.ResourceID, "operation": in.Operation} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if in.Limit != 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	if in.Before != 0 {
		q.Set("before", strconv.FormatInt(in.Before, 10))
	}
	return call[[]roster.RequestEntry](ctx, c, "GET", nil, "organizations", orgID, "requests?"+q.Encode())
}

// ListJobs implements manage.API.
func (c *Client) ListJobs(ctx context.Context, orgID string) ([]*manage.Job, error) {
	return call[[]*manage.Job](ctx, c, "GET", nil, "organizations", orgID, "jobs")
}

// GetJob implements manage.API.
func (c *Client) GetJob(ctx context.Context, orgID, job string) (*manage.Job, error) {
	return call[*manage.Job](ctx, c, "GET", nil, "organizations", orgID, "jobs", job)
}

// QueryJobLog implements manage.API.
func (c *Client) QueryJobLog(ctx context.Context, orgID, job string, in manage.JobLogFilter) (*manage.JobLogPage, error) {
	q := url.Values{}
	if in.Failed {
		q.Set("failed", "true")
	}
	if in.Object != "" {
		q.Set("object", in.Object)
	}
	if in.Cycle != "" {
		q.Set("cycle", in.Cycle)
	}
	if in.Limit != 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	if in.Before != 0 {
		q.Set("before", strconv.FormatInt(in.Before, 10))
	}
	path := "logs"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return call[*manage.JobLogPage](ctx, c, "GET", nil, "organizations", orgID, "jobs", job, path)
}
