package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/scim"
)

// newService builds the admin service over a store, for serve and for
// local admin commands alike. A directory may use any profile of the set.
func newService(db store, profiles *scim.ProfileSet) *manage.Service {
	svc := manage.New(db)
	svc.Profiles = profiles
	svc.Requests = db
	svc.Jobs = db
	return svc
}

// adminCommands lists every `roster <noun> <verb>` command.
var adminCommands = []adminCommand{
	{"org", "create", "Create an organization", []string{"name"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		o, err := api.CreateOrganization(ctx, manage.OrganizationInput{Name: v.name})
		if err != nil {
			return nil, "", err
		}
		return o, fmt.Sprintf("Created organization %s (%s)\n", o.ID, o.Name), nil
	}},
	{"org", "list", "List organizations", nil, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		orgs, err := api.ListOrganizations(ctx)
		rows := [][]string{}
		for _, o := range orgs {
			rows = append(rows, []string{o.ID, o.Name, o.Created.Format("2006-01-02")})
		}
		return orgs, table("ID\tNAME\tCREATED", rows), err
	}},
	{"admin", "create", "Create an admin of an organization and print its token once", []string{"org", "name", "server-admins"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		a, err := api.CreateAdmin(ctx, v.org, manage.AdminInput{Name: v.name})
		if err != nil {
			return nil, "", err
		}
		whose := "of organization " + v.org
		if v.org == "" {
			whose = "(server admin)"
		}
		return a, fmt.Sprintf("Created admin %s %s.\nAdmin token (shown once, store it now): %s\n", a.Admin.ID, whose, a.Secret), nil
	}},
	{"admin", "list", "List the admins of an organization, revoked ones too", []string{"org", "server-admins"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		admins, err := api.ListAdmins(ctx, v.org)
		rows := [][]string{}
		for _, a := range admins {
			state := "active"
			if a.Revoked {
				state = "revoked"
			}
			rows = append(rows, []string{a.ID, a.Name, state, a.Created.UTC().Format(time.RFC3339)})
		}
		return admins, table("ID\tNAME\tSTATE\tCREATED", rows), err
	}},
	{"admin", "revoke", "Revoke an admin; its token stops working at once", []string{"org", "id", "server-admins"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		a, err := api.RevokeAdmin(ctx, v.org, v.id)
		if err != nil {
			return nil, "", err
		}
		return a, fmt.Sprintf("Revoked admin %s (%s)\n", a.ID, a.Name), nil
	}},
	{"key", "create", "Create an API key and print its secret once", []string{"org", "name", "description", "users", "groups", "expires-in"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		k, err := api.CreateKey(ctx, v.org, manage.KeyInput{Name: v.name, Description: v.description, Users: v.users, Groups: v.groups, ExpiresIn: v.expiresIn})
		if err != nil {
			return nil, "", err
		}
		return k, fmt.Sprintf("Created API key %s (%s): Users %s, Groups %s.\nSecret token (shown once, store it now): %s\n", k.Key.ID, k.Key.Name, k.Key.Users, k.Key.Groups, k.Secret), nil
	}},
	{"key", "list", "List API keys", []string{"org"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		keys, err := api.ListKeys(ctx, v.org)
		return keys, table(keyHeader, keyRows(keys)), err
	}},
	{"key", "revoke", "Revoke an API key", []string{"org", "id"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		k, err := api.RevokeKey(ctx, v.org, v.id)
		if err != nil {
			return nil, "", err
		}
		return k, fmt.Sprintf("Revoked API key %s (%s)\n", k.ID, k.Name), nil
	}},
	{"idp", "create", "Create an IdP configuration (a SCIM directory with its own tenant URL)", []string{"org", "name", "icon", "profile", "key"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		d, err := api.CreateDirectory(ctx, v.org, manage.DirectoryInput{Name: v.name, Icon: v.icon, Profile: v.profile, KeyIDs: v.keys})
		if err != nil {
			return nil, "", err
		}
		return d, dirHuman(d), nil
	}},
	{"idp", "list", "List IdP configurations", []string{"org"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		dirs, err := api.ListDirectories(ctx, v.org)
		rows := [][]string{}
		for _, d := range dirs {
			rows = append(rows, []string{d.ID, d.Name, d.Profile, fmt.Sprint(len(d.KeyIDs))})
		}
		return dirs, table("IDP ID\tNAME\tPROFILE\tKEYS", rows), err
	}},
	{"idp", "show", "Show an IdP configuration", []string{"org", "id"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		d, err := api.GetDirectory(ctx, v.org, v.id)
		if err != nil {
			return nil, "", err
		}
		return d, dirHuman(d), nil
	}},
	{"idp", "update", "Change the name, icon, profile, keys or body capture of an IdP configuration", []string{"org", "id", "name", "icon", "profile", "key", "capture-bodies"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		var in manage.DirectoryUpdate
		if v.capture != "" {
			on, err := strconv.ParseBool(v.capture)
			if err != nil {
				return nil, "", &usageError{message: fmt.Sprintf("--capture-bodies %q must be true or false", v.capture), hint: "roster idp update --id <IdP ID> --capture-bodies true"}
			}
			in.CaptureBodies = &on
		}
		if v.setName {
			in.Name = &v.name
		}
		if v.setIcon {
			in.Icon = &v.icon
		}
		if v.setProfile {
			in.Profile = &v.profile
		}
		if v.setKeys {
			keys := []string(v.keys)
			in.KeyIDs = &keys
		}
		d, err := api.UpdateDirectory(ctx, v.org, v.id, in)
		if err != nil {
			return nil, "", err
		}
		return d, dirHuman(d), nil
	}},
	{"idp", "delete", "Delete an IdP configuration with all its users and groups", []string{"org", "id"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		if err := api.DeleteDirectory(ctx, v.org, v.id); err != nil {
			return nil, "", err
		}
		return map[string]string{"deleted": v.id}, fmt.Sprintf("Deleted IdP configuration %s\n", v.id), nil
	}},
	{"oauth", "create", "Create an OAuth client of an IdP configuration and print its secret once", []string{"org", "idp", "name", "users", "groups", "token-ttl"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		c, err := api.CreateOAuthClient(ctx, v.org, v.idp, manage.OAuthClientInput{Name: v.name, Users: v.users, Groups: v.groups, TokenTTL: v.tokenTTL})
		if err != nil {
			return nil, "", err
		}
		return c, fmt.Sprintf("Created OAuth client for IdP configuration %s.\n  Token endpoint: <your Roster URL>/v1/oauth/token\n  Client ID:      %s\n  Client secret (shown once, store it now): %s\n", v.idp, c.Client.ID, c.Secret), nil
	}},
	{"oauth", "list", "List the OAuth clients of an IdP configuration", []string{"org", "idp"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		cs, err := api.ListOAuthClients(ctx, v.org, v.idp)
		rows := [][]string{}
		for _, c := range cs {
			active := 0
			for _, s := range c.Secrets {
				if !s.Revoked {
					active++
				}
			}
			rows = append(rows, []string{c.ID, c.Name, c.Users, c.Groups, c.TokenTTL.String(), fmt.Sprint(active)})
		}
		return cs, table("CLIENT ID\tNAME\tUSERS\tGROUPS\tTOKEN TTL\tACTIVE SECRETS", rows), err
	}},
	{"oauth", "add-secret", "Add a client secret (for rotation) and print it once", []string{"org", "client", "expires-in"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		s, err := api.AddOAuthSecret(ctx, v.org, v.client, manage.SecretInput{ExpiresIn: v.expiresIn})
		if err != nil {
			return nil, "", err
		}
		return s, fmt.Sprintf("Added secret %s to client %s.\nClient secret (shown once, store it now): %s\n", s.SecretID, v.client, s.Secret), nil
	}},
	{"oauth", "revoke-secret", "Revoke a client secret", []string{"org", "client", "secret"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		if err := api.RevokeOAuthSecret(ctx, v.org, v.client, v.secret); err != nil {
			return nil, "", err
		}
		return map[string]string{"revoked": v.secret}, fmt.Sprintf("Revoked secret %s of client %s\n", v.secret, v.client), nil
	}},
	{"profile", "list", "List the attribute profiles IdP configurations can use", nil, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		ps, err := api.ListProfiles(ctx)
		rows := [][]string{}
		for _, p := range ps {
			rows = append(rows, []string{p.Name, p.Description})
		}
		return ps, table("NAME\tDESCRIPTION", rows), err
	}},
	{"profile", "show", "Show an attribute profile: what it supports, requires and can filter on", []string{"name"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		p, err := api.GetProfile(ctx, v.name)
		if err != nil {
			return nil, "", err
		}
		b, err := json.MarshalIndent(p, "", "  ")
		return p, string(b) + "\n", err
	}},
	{"logs", "list", "Read the request log of an organization, newest first", []string{"org", "idp", "since", "until", "status", "resource", "operation", "limit"}, func(ctx context.Context, api manage.API, v *adminVars) (any, string, error) {
		es, err := api.QueryRequests(ctx, v.org, manage.RequestFilter{Directory: v.idp, Since: v.since, Until: v.until,
			Status: v.status, ResourceID: v.resource, Operation: v.operation, Limit: v.limit})
		rows := [][]string{}
		for _, e := range es {
			rows = append(rows, []string{e.Time.UTC().Format(time.RFC3339), e.Method, fmt.Sprint(e.Status), e.SCIMType,
				e.ResourceType + " " + e.ResourceID, e.Summary, e.CredentialName, e.RequestID})
		}
		return es, table("TIME\tMETHOD\tSTATUS\tSCIMTYPE\tRESOURCE\tSUMMARY\tCREDENTIAL\tREQUEST ID", rows), err
	}},
}
