package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/adminclient"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/scim"
)

// adminVars holds every admin flag; each command registers the ones it uses.
type adminVars struct {
	data, server, token string
	database            string
	json                bool
	org, id, name       string
	description, icon   string
	users, groups       string
	expiresIn, profile  string
	idp, client, secret string
	tokenTTL            string
	since, until        string
	status, resource    string
	operation           string
	limit               int
	capture             string // idp update: "true" or "false"
	serverAdmins        bool   // admin commands: the server admins, not an organization's
	keys                multiFlag
	profiles            scim.ProfileSet // custom profiles a local idp command may name
	setName, setIcon    bool            // update: which fields were given
	setProfile, setKeys bool
}

// multiFlag is a repeatable string flag (--key a --key b).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// adminCommand is one `roster <noun> <verb>` command.
type adminCommand struct {
	noun, verb, synopsis string
	flags                []string // names of the flags it takes, besides the common ones
	run                  func(ctx context.Context, api manage.API, v *adminVars) (result any, human string, err error)
}

// flagDefs registers a named admin flag.
var flagDefs = map[string]func(fs *flag.FlagSet, v *adminVars){
	"org": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.org, "org", "", "organization id (default: the only organization you can manage)")
	},
	"id":          func(fs *flag.FlagSet, v *adminVars) { fs.StringVar(&v.id, "id", "", "id of the object") },
	"name":        func(fs *flag.FlagSet, v *adminVars) { fs.StringVar(&v.name, "name", "", "name") },
	"description": func(fs *flag.FlagSet, v *adminVars) { fs.StringVar(&v.description, "description", "", "description") },
	"icon": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.icon, "icon", "", "icon URL shown next to the IdP configuration")
	},
	"users": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.users, "users", "", "privilege on Users: none, read or write (default write)")
	},
	"groups": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.groups, "groups", "", "privilege on Groups: none, read or write (default write)")
	},
	"expires-in": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.expiresIn, "expires-in", "", "lifetime, e.g. 8760h; default: never expires")
	},
	"profile": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.profile, "profile", "", "attribute profile (default generic)")
	},
	"key": func(fs *flag.FlagSet, v *adminVars) {
		fs.Var(&v.keys, "key", "id of an API key the IdP configuration accepts (repeat for several)")
	},
	"idp": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.idp, "idp", "", "IdP configuration (directory) id")
	},
	"client": func(fs *flag.FlagSet, v *adminVars) { fs.StringVar(&v.client, "client", "", "OAuth client id") },
	"secret": func(fs *flag.FlagSet, v *adminVars) { fs.StringVar(&v.secret, "secret", "", "OAuth client secret id") },
	"since": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.since, "since", "", "only entries since a time (RFC 3339) or a duration ago, e.g. 1h")
	},
	"until": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.until, "until", "", "only entries before a time (RFC 3339) or a duration ago")
	},
	"status": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.status, "status", "", "only this status (409) or class (4xx)")
	},
	"resource": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.resource, "resource", "", "only requests about this user or group id")
	},
	"operation": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.operation, "operation", "", "only summaries containing this text, e.g. PATCH or members")
	},
	"limit": func(fs *flag.FlagSet, v *adminVars) {
		fs.IntVar(&v.limit, "limit", 0, "at most this many entries (default 100, at most 1000)")
	},
	"capture-bodies": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.capture, "capture-bodies", "", "record request bodies (redacted) in the request log: true or false")
	},
	"server-admins": func(fs *flag.FlagSet, v *adminVars) {
		fs.BoolVar(&v.serverAdmins, "server-admins", false, "act on the server admins, who manage every organization, instead of an organization's")
	},
	"token-ttl": func(fs *flag.FlagSet, v *adminVars) {
		fs.StringVar(&v.tokenTTL, "token-ttl", "", "access token lifetime, 1h to 6h (default 1h)")
	},
}

func findAdminCommand(noun, verb string) *adminCommand {
	for i := range adminCommands {
		if adminCommands[i].noun == noun && adminCommands[i].verb == verb {
			return &adminCommands[i]
		}
	}
	return nil
}

func nounUsage(noun string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: roster %s <command> [flags]\n\nCommands:\n", noun)
	for _, c := range adminCommands {
		if c.noun == noun {
			fmt.Fprintf(&b, "  %-14s %s\n", c.verb, c.synopsis)
		}
	}
	fmt.Fprintf(&b, "\nRun \"roster %s <command> --help\" for its flags.\n", noun)
	return b.String()
}

// runAdmin runs `roster <noun> <verb> [flags]` against a data directory
// (--data) or a running server (--server, with ROSTER_ADMIN_TOKEN).
func runAdmin(ctx context.Context, noun string, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if noun == "logs" && len(args) == 0 {
		args = []string{"list"}
	}
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, nounUsage(noun))
			return &usageError{message: fmt.Sprintf("roster %s needs a command", noun), hint: fmt.Sprintf(`run "roster %s --help"`, noun)}
		}
		fmt.Fprint(stdout, nounUsage(noun))
		return nil
	}
	cmd := findAdminCommand(noun, args[0])
	if cmd == nil && noun == "logs" { // `roster logs [flags]` reads the log
		cmd, args = findAdminCommand("logs", "list"), append([]string{"list"}, args...)
	}
	if cmd == nil {
		return &usageError{message: fmt.Sprintf("unknown command %q for roster %s", args[0], noun), hint: fmt.Sprintf(`run "roster %s --help" for its commands`, noun)}
	}
	e := env(getenv)
	v := &adminVars{}
	fs := newFlagSet(noun+" "+cmd.verb, cmd.synopsis+".\nWith --data it works on a data directory; with --server on a running Roster,\nauthenticated by ROSTER_ADMIN_TOKEN (or ROSTER_ADMIN_TOKEN_FILE).", stderr)
	fs.StringVar(&v.data, "data", e.str("DATA", "./roster-data"), "data directory to manage directly (env ROSTER_DATA)")
	fs.StringVar(&v.database, "database", e.str("DATABASE_URL", ""), "PostgreSQL URL to manage directly instead of --data (env ROSTER_DATABASE_URL)")
	fs.StringVar(&v.server, "server", e.str("SERVER", ""), "URL of a running Roster to manage through its admin API (env ROSTER_SERVER)")
	fs.BoolVar(&v.json, "json", false, "print the result as JSON")
	for _, name := range cmd.flags {
		flagDefs[name](fs, v) // a missing name panics in every test of the command
	}
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			v.setName = true
		case "icon":
			v.setIcon = true
		case "profile":
			v.setProfile = true
		case "key":
			v.setKeys = true
		}
	})
	api, done, err := openAdmin(ctx, v, e)
	if err != nil {
		return err
	}
	defer done()
	if v.serverAdmins {
		if v.org != "" {
			return &usageError{message: "--server-admins and --org exclude each other", hint: "give one of them"}
		}
	} else if needsOrg(cmd) && v.org == "" {
		if v.org, err = onlyOrg(ctx, api); err != nil {
			return err
		}
	}
	result, human, err := cmd.run(ctx, api, v)
	if err != nil {
		return err
	}
	if v.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(result)
	}
	_, err = io.WriteString(stdout, human)
	return err
}

func needsOrg(cmd *adminCommand) bool {
	for _, f := range cmd.flags {
		if f == "org" {
			return true
		}
	}
	return false
}

// onlyOrg picks the organization when the admin can manage exactly one.
func onlyOrg(ctx context.Context, api manage.API) (string, error) {
	orgs, err := api.ListOrganizations(ctx)
	if err != nil {
		return "", err
	}
	if len(orgs) != 1 {
		return "", &usageError{message: fmt.Sprintf("there are %d organizations; say which one", len(orgs)), hint: `add --org <id>; "roster org list" shows the ids`}
	}
	return orgs[0].ID, nil
}

// openAdmin returns the API for the target: the admin HTTP client for
// --server, else the store of the data directory acting as server admin.
func openAdmin(ctx context.Context, v *adminVars, e env) (manage.API, func(), error) {
	if v.server != "" {
		c := &Config{}
		if err := c.loadSecrets(e); err != nil {
			return nil, nil, err
		}
		if c.AdminToken == "" {
			return nil, nil, &usageError{message: "--server needs an admin token", hint: "set ROSTER_ADMIN_TOKEN (printed by roster init) or ROSTER_ADMIN_TOKEN_FILE"}
		}
		return adminclient.New(v.server, c.AdminToken, &http.Client{Timeout: 30 * time.Second}), func() {}, nil
	}
	db, err := openStore(ctx, v.data, v.database, true)
	if err != nil {
		return nil, nil, err
	}
	return newService(db, &v.profiles).As(manage.ServerAdmin), func() { db.Close() }, nil
}

// table formats rows as aligned columns.
func table(header string, rows [][]string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	return b.String()
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func keyRows(keys []*roster.APIKey) [][]string {
	rows := make([][]string, 0, len(keys))
	for _, k := range keys {
		state := "active"
		if k.Revoked {
			state = "revoked"
		} else if k.Expires != nil && !time.Now().Before(*k.Expires) {
			state = "expired"
		}
		rows = append(rows, []string{k.ID, k.Name, k.Users, k.Groups, state, when(k.Expires), when(k.LastUsed)})
	}
	return rows
}

const keyHeader = "ID\tNAME\tUSERS\tGROUPS\tSTATE\tEXPIRES\tLAST USED"

func dirHuman(d *roster.Directory) string {
	keys := append([]string(nil), d.KeyIDs...)
	sort.Strings(keys)
	icon := d.Icon
	if icon == "" {
		icon = "-"
	}
	return fmt.Sprintf("IdP configuration %s\n  Name:       %s\n  Icon:       %s\n  Profile:    %s\n  Tenant URL: <your Roster URL>/v1/scim/%s\n  Keys:       %s\n  Body capture in the request log: %v\n",
		d.ID, d.Name, icon, d.Profile, d.ID, strings.Join(keys, ", "), d.CaptureBodies)
}
