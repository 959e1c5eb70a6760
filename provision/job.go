package provision

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/roster-scim/roster/expr/scope"
)

// Job is a provisioning job's definition: one source, one target, the scope,
// the mappings, the matching attributes and the schedule. People write it
// as a JSON or YAML file they keep in version control (see docs and
// LoadJob); Roster stores it as JSON with the secrets sealed.
type Job struct {
	Name     string    `json:"name"`
	Source   SourceDef `json:"source"`
	Target   TargetDef `json:"target"`
	Scope    ScopeDef  `json:"scope,omitzero"`
	Mappings MapDefs   `json:"mappings,omitzero"`
	Matching Matching  `json:"matching,omitzero"`
	Schedule Schedule  `json:"schedule,omitzero"`
	// OnDelete is what an object deleted in the source becomes in the
	// target: "delete" (the default, as Entra) or "disable".
	OnDelete string `json:"on_delete,omitempty"`
}

// SourceDef says where users and groups come from.
type SourceDef struct {
	// Type is "file" or "scim".
	Type string `json:"type"`

	// File: see source.FileConfig.
	Path         string   `json:"path,omitempty"`
	Format       string   `json:"format,omitempty"`
	IDColumn     string   `json:"id_column,omitempty"`
	GroupsColumn string   `json:"groups_column,omitempty"`
	GroupsPath   string   `json:"groups_path,omitempty"`
	Separator    string   `json:"separator,omitempty"`
	MultiValued  []string `json:"multi_valued,omitempty"`

	// SCIM: a SCIM 2.0 server read with the same client as targets.
	Endpoint
}

// TargetDef is the SCIM app users and groups are provisioned into.
type TargetDef struct {
	Endpoint
	// Concurrency bounds the requests in flight to the target; default 8.
	Concurrency int `json:"concurrency,omitempty"`
	// RateLimit caps requests per second; 0, the default, is no cap.
	RateLimit float64 `json:"rate_limit,omitempty"`
	// Groups turns group provisioning off when false; default true.
	Groups *bool `json:"groups,omitempty"`
}

// Endpoint is a SCIM server and how to authenticate to it: a bearer token
// or OAuth 2.0 client credentials. Token and ClientSecret are secrets:
// sealed in the store, never printed.
//
// A job file kept in version control should not hold the secrets
// themselves: TokenEnv and TokenFile (ClientSecretEnv, ClientSecretFile)
// name an environment variable or a file to read them from when the job
// is stored. They are resolved by LoadJob and never stored.
type Endpoint struct {
	URL              string `json:"url,omitempty"`
	Token            string `json:"token,omitempty"`
	TokenEnv         string `json:"token_env,omitempty"`
	TokenFile        string `json:"token_file,omitempty"`
	TokenURL         string `json:"token_url,omitempty"`
	ClientID         string `json:"client_id,omitempty"`
	ClientSecret     string `json:"client_secret,omitempty"`
	ClientSecretEnv  string `json:"client_secret_env,omitempty"`
	ClientSecretFile string `json:"client_secret_file,omitempty"`
	Scope            string `json:"scope,omitempty"`
}

// resolveSecrets reads the secrets that TokenEnv, TokenFile,
// ClientSecretEnv and ClientSecretFile name into Token and ClientSecret,
// and forgets the names. Relative files are in dir.
func (e *Endpoint) resolveSecrets(field, dir string, getenv func(string) string) error {
	for _, s := range []struct {
		name      string
		dst       *string
		env, file *string
	}{
		{"token", &e.Token, &e.TokenEnv, &e.TokenFile},
		{"client_secret", &e.ClientSecret, &e.ClientSecretEnv, &e.ClientSecretFile},
	} {
		given := 0
		for _, v := range []string{*s.dst, *s.env, *s.file} {
			if v != "" {
				given++
			}
		}
		if given > 1 {
			return fmt.Errorf("%s: give one of %s, %s_env and %s_file", field, s.name, s.name, s.name)
		}
		switch {
		case *s.env != "":
			v := getenv(*s.env)
			if v == "" {
				return fmt.Errorf("%s.%s_env: the environment variable %s is empty or not set", field, s.name, *s.env)
			}
			*s.dst = v
		case *s.file != "":
			path := *s.file
			if !filepath.IsAbs(path) && dir != "" {
				path = filepath.Join(dir, path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("%s.%s_file: %w", field, s.name, err)
			}
			if *s.dst = strings.TrimSpace(string(b)); *s.dst == "" {
				return fmt.Errorf("%s.%s_file: %s is empty", field, s.name, path)
			}
		}
		*s.env, *s.file = "", ""
	}
	return nil
}

// ScopeDef selects the source objects the job provisions.
type ScopeDef struct {
	// Assigned limits the job to the members of Groups (source group IDs)
	// and those groups, Entra's "Sync only assigned users and groups". By
	// default everything in the source is in scope ("Sync all").
	Assigned bool     `json:"assigned,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	// Users and GroupFilters are scoping filters (docs/scoping.md) for
	// users and for groups.
	Users        *scope.Set `json:"users,omitempty"`
	GroupFilters *scope.Set `json:"group_filters,omitempty"`
}

// MapDefs are the attribute mappings for users and groups. Each list
// changes the default mappings (DefaultUserMappings): a mapping for a
// target the defaults have replaces the default one, a mapping with
// "remove": true drops it, others are added; with Replace the lists are
// the whole mapping and the defaults are not used.
type MapDefs struct {
	Replace bool      `json:"replace,omitempty"`
	Users   []Mapping `json:"users,omitempty"`
	Groups  []Mapping `json:"groups,omitempty"`
}

// Mapping computes one target attribute. Exactly one of Source (Direct),
// Constant and Expression is set, unless Remove.
type Mapping struct {
	// Target is the SCIM attribute path written: userName, name.givenName,
	// emails[type eq "work"].value, or an extension attribute by its URN.
	Target     string `json:"target"`
	Source     string `json:"source,omitempty"`
	Constant   any    `json:"constant,omitempty"`
	Expression string `json:"expression,omitempty"`
	// Default is written on create when the mapping's value is null.
	Default any `json:"default,omitempty"`
	// Apply is "always" (the default) or "create": only when the object
	// is created, as for generated user names.
	Apply  string `json:"apply,omitempty"`
	Remove bool   `json:"remove,omitempty"`
}

// Matching lists the attributes that find an existing target object, in
// precedence order: the first that finds one wins.
type Matching struct {
	Users  []Match `json:"users,omitempty"`
	Groups []Match `json:"groups,omitempty"`
}

// Match pairs a target attribute with the mapping that fills it: the
// target is queried with `Target eq "<the mapped value>"`.
type Match struct {
	Target string `json:"target"`
}

// Schedule says when `roster serve` runs the job.
type Schedule struct {
	// Enabled jobs run on their interval; default true.
	Enabled *bool `json:"enabled,omitempty"`
	// Interval between the start of one cycle and the next; default 40m,
	// Entra's.
	Interval Duration `json:"interval,omitzero"`
}

// Duration is a time.Duration written as "40m" in job files.
type Duration struct{ time.Duration }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as \"40m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// DefaultInterval is Entra's time between incremental cycles.
const DefaultInterval = 40 * time.Minute

// names are a job's allowed names: they appear in commands and URLs.
var names = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// LoadJob reads a job definition, JSON or YAML (a file named *.yaml or
// *.yml, or any input that is not JSON), refusing unknown fields so that a
// misspelt key is an error rather than a silently ignored setting, and
// validates it. Relative file paths are resolved against dir, the job
// file's directory.
func LoadJob(r io.Reader, name, dir string) (*Job, error) {
	data, err := io.ReadAll(io.LimitReader(r, 4<<20))
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	ext := strings.ToLower(filepath.Ext(name))
	if ext == ".yaml" || ext == ".yml" || (len(trimmed) > 0 && trimmed[0] != '{') {
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if data, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	j, err := decodeJob(data, func(j *Job) error {
		if err := j.Source.Endpoint.resolveSecrets("source", dir, os.Getenv); err != nil {
			return err
		}
		return j.Target.Endpoint.resolveSecrets("target", dir, os.Getenv)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, p := range []*string{&j.Source.Path, &j.Source.GroupsPath} {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
	return j, nil
}

// DecodeJob decodes and validates a job from JSON.
func DecodeJob(data []byte) (*Job, error) { return decodeJob(data, nil) }

// decodeJob decodes a job, lets prepare complete it, and validates it.
func decodeJob(data []byte, prepare func(*Job) error) (*Job, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var j Job
	if err := dec.Decode(&j); err != nil {
		return nil, err
	}
	if prepare != nil {
		if err := prepare(&j); err != nil {
			return nil, err
		}
	}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return &j, nil
}

// Validate checks a job and reports every problem it finds, each naming
// the field.
func (j *Job) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !names.MatchString(j.Name) {
		bad("name %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", j.Name)
	}
	switch j.Source.Type {
	case "file":
		if j.Source.Path == "" {
			bad("source.path: a file source needs the path of its CSV or JSON Lines file")
		}
	case "scim":
		if err := j.Source.Endpoint.validate("source"); err != nil {
			errs = append(errs, err)
		}
	default:
		bad(`source.type %q: want "file" or "scim"`, j.Source.Type)
	}
	if err := j.Target.Endpoint.validate("target"); err != nil {
		errs = append(errs, err)
	}
	if j.Target.Concurrency < 0 || j.Target.Concurrency > 256 {
		bad("target.concurrency %d: want 1 to 256", j.Target.Concurrency)
	}
	if j.Target.RateLimit < 0 {
		bad("target.rate_limit %v: want a number of requests per second, or 0 for no limit", j.Target.RateLimit)
	}
	if j.Scope.Assigned && len(j.Scope.Groups) == 0 {
		bad("scope.groups: assigned scope needs the source IDs of the assigned groups")
	}
	for _, s := range []*scope.Set{j.Scope.Users, j.Scope.GroupFilters} {
		if s != nil {
			if err := s.Validate(); err != nil {
				bad("scope: %w", err)
			}
		}
	}
	switch j.OnDelete {
	case "", "delete", "disable":
	default:
		bad(`on_delete %q: want "delete" or "disable"`, j.OnDelete)
	}
	if j.Schedule.Interval.Duration != 0 && j.Schedule.Interval.Duration < time.Minute {
		bad("schedule.interval %s: want at least 1m", j.Schedule.Interval)
	}
	if _, err := j.UserMappings(); err != nil {
		errs = append(errs, err)
	}
	if _, err := j.GroupMappings(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (e *Endpoint) validate(field string) error {
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s.url %q: want the SCIM base URL, such as https://app.example.com/scim/v2", field, e.URL)
	}
	oauth := e.TokenURL != "" || e.ClientID != "" || e.ClientSecret != ""
	switch {
	case e.Token != "" && oauth:
		return fmt.Errorf("%s: give either token or token_url/client_id/client_secret, not both", field)
	case oauth && (e.TokenURL == "" || e.ClientID == "" || e.ClientSecret == ""):
		return fmt.Errorf("%s: OAuth client credentials need token_url, client_id and client_secret", field)
	case !oauth && e.Token == "":
		return fmt.Errorf("%s: needs a token (token, token_env or token_file), or OAuth client credentials (token_url, client_id, client_secret)", field)
	}
	return nil
}

// Interval is the time between cycles.
func (j *Job) Interval() time.Duration {
	if j.Schedule.Interval.Duration == 0 {
		return DefaultInterval
	}
	return j.Schedule.Interval.Duration
}

// Enabled reports whether `roster serve` runs the job on its schedule.
func (j *Job) Enabled() bool { return j.Schedule.Enabled == nil || *j.Schedule.Enabled }

// concurrency is the number of requests the job keeps in flight to the
// target: Target.Concurrency, or 8.
func (j *Job) concurrency() int {
	if j.Target.Concurrency > 0 {
		return j.Target.Concurrency
	}
	return 8
}

// GroupsEnabled reports whether the job provisions groups.
func (j *Job) GroupsEnabled() bool { return j.Target.Groups == nil || *j.Target.Groups }

// Fingerprint identifies what the job does to an object: the mappings,
// matching and scope. Changing any of them changes every object's
// fingerprint, so the next cycle re-evaluates everything, as Entra starts
// a new initial cycle when mappings or scoping filters change.
func (j *Job) Fingerprint() string {
	b, _ := json.Marshal(struct {
		S ScopeDef
		M MapDefs
		X Matching
		D string
	}{j.Scope, j.Mappings, j.Matching, j.OnDelete})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// Redacted returns a copy of the job whose secrets read "(hidden)", for
// printing.
func (j *Job) Redacted() *Job {
	c := *j
	for _, e := range []*Endpoint{&c.Source.Endpoint, &c.Target.Endpoint} {
		if e.Token != "" {
			e.Token = hidden
		}
		if e.ClientSecret != "" {
			e.ClientSecret = hidden
		}
	}
	return &c
}

const hidden = "(hidden)"
