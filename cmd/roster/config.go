package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roster-scim/roster/scim"
)

// Config is everything the server is configured with. It is filled from
// flags whose defaults come from ROSTER_* environment variables, and passed
// down explicitly; there is no global configuration.
type Config struct {
	Data            string
	Addr            string
	LogFormat       string // "text" or "json"; "" picks text on a terminal, JSON otherwise
	LogLevel        string
	MaxBodyBytes    int64
	MaxResults      int
	DefaultCount    int
	ShutdownTimeout time.Duration
	ShutdownDelay   time.Duration // how long /readyz fails before shutting down
	JSON            bool          // init: print JSON
	AdminToken      string        // ROSTER_ADMIN_TOKEN or the file named by ROSTER_ADMIN_TOKEN_FILE
	LogRetention    time.Duration // how long the request and provisioning logs keep entries
	Database        string        // PostgreSQL URL; "" is the embedded SQLite store
	NoMigrate       bool          // serve: do not apply PostgreSQL migrations at start
	SecretKey       string        // ROSTER_SECRET_KEY(_FILE): seals provisioning jobs' secrets
	JobsCheck       time.Duration // serve: how often the scheduler looks for due jobs; 30s when 0, none when negative
	// Profiles are the built-in attribute profiles plus the files given
	// with --profiles.
	Profiles scim.ProfileSet
}

// env reads ROSTER_<NAME>.
type env func(string) string

func (e env) str(name, def string) string {
	if v := e("ROSTER_" + name); v != "" {
		return v
	}
	return def
}

// addDataFlag registers --data and --database, shared by every command.
func addDataFlag(fs *flag.FlagSet, c *Config, e env) {
	fs.StringVar(&c.Database, "database", e.str("DATABASE_URL", ""), "PostgreSQL URL (postgres://…); without it the SQLite database in --data is used (env ROSTER_DATABASE_URL, or ROSTER_DATABASE_URL_FILE)")
	fs.StringVar(&c.Data, "data", e.str("DATA", "./roster-data"), "data directory holding the SQLite database (env ROSTER_DATA)")
}

// addServeFlags registers the server's flags. Numeric environment values
// are validated after parsing so that a typo is reported, not ignored.
func addServeFlags(fs *flag.FlagSet, c *Config, e env) {
	addDataFlag(fs, c, e)
	fs.BoolVar(&c.NoMigrate, "no-migrate", false, "with --database: do not apply migrations at start (run `roster migrate` first)")
	fs.StringVar(&c.Addr, "addr", e.str("ADDR", "127.0.0.1:8080"), "host:port to listen on (env ROSTER_ADDR)")
	fs.StringVar(&c.LogFormat, "log-format", e.str("LOG_FORMAT", ""), `log format: "text" or "json"; default text on a terminal, JSON otherwise (env ROSTER_LOG_FORMAT)`)
	fs.StringVar(&c.LogLevel, "log-level", e.str("LOG_LEVEL", "info"), `log level: debug, info, warn or error (env ROSTER_LOG_LEVEL)`)
	fs.Func("max-body-bytes", "largest request body accepted, in bytes; larger ones get 413 (default 1048576, env ROSTER_MAX_BODY_BYTES)", intSetter(&c.MaxBodyBytes))
	fs.Func("max-results", "largest page a list returns, advertised as filter.maxResults (default 1000, env ROSTER_MAX_RESULTS)", intSetter(&c.MaxResults))
	fs.Func("default-count", "page size when a list gives no count (default 100, env ROSTER_DEFAULT_COUNT)", intSetter(&c.DefaultCount))
	fs.Func("shutdown-timeout", "how long in-flight requests may finish after SIGINT/SIGTERM (default 10s, env ROSTER_SHUTDOWN_TIMEOUT)", durationSetter(&c.ShutdownTimeout))
	fs.Func("shutdown-delay", "on SIGINT/SIGTERM, how long to keep serving with /readyz failing before shutting down, so a load balancer stops routing here first; set it above the balancer's readiness check interval times its failure count (default 0, env ROSTER_SHUTDOWN_DELAY)", delaySetter(&c.ShutdownDelay))
	fs.Func("log-retention", "how long the request log and the provisioning log keep entries; older ones are pruned hourly (default 720h, env ROSTER_LOG_RETENTION)", durationSetter(&c.LogRetention))
	fs.Var(&c.Profiles, "profiles", "custom attribute profile files (.json, .yaml), comma-separated or repeated; loaded and checked at start")
}

// loadSecrets reads ROSTER_ADMIN_TOKEN, or the file ROSTER_ADMIN_TOKEN_FILE
// names (the convention of Docker and Kubernetes secrets), never a flag:
// flags show up in process listings. ROSTER_DATABASE_URL_FILE likewise
// keeps a database password out of the environment.
func (c *Config) loadSecrets(e env) error {
	c.AdminToken = e.str("ADMIN_TOKEN", "")
	if err := fromFile(e, "ADMIN_TOKEN", &c.AdminToken); err != nil {
		return err
	}
	c.SecretKey = e.str("SECRET_KEY", "")
	if err := fromFile(e, "SECRET_KEY", &c.SecretKey); err != nil {
		return err
	}
	return fromFile(e, "DATABASE_URL", &c.Database)
}

// fromFile fills dst from the file ROSTER_<name>_FILE names, if any.
func fromFile(e env, name string, dst *string) error {
	path := e.str(name+"_FILE", "")
	if path == "" {
		return nil
	}
	if *dst != "" {
		return &usageError{message: fmt.Sprintf("both ROSTER_%s (or its flag) and ROSTER_%s_FILE are set", name, name), hint: "set only one of them"}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read ROSTER_%s_FILE: %w", name, err)
	}
	*dst = strings.TrimSpace(string(b))
	return nil
}

// applyEnvNumbers fills numeric settings not given as flags from the
// environment, then defaults, and validates them.
func (c *Config) applyEnvNumbers(e env) error {
	set := func(dst any, name string, def int64) error {
		v := e("ROSTER_" + name)
		n := def
		if v != "" {
			parsed, err := strconv.ParseInt(v, 10, 64)
			if err != nil || parsed <= 0 {
				return &usageError{message: fmt.Sprintf("ROSTER_%s must be a positive integer, got %q", name, v), hint: "unset it or fix its value"}
			}
			n = parsed
		}
		switch d := dst.(type) {
		case *int64:
			if *d == 0 {
				*d = n
			}
		case *int:
			if *d == 0 {
				*d = int(n)
			}
		}
		return nil
	}
	if err := set(&c.MaxBodyBytes, "MAX_BODY_BYTES", 1<<20); err != nil {
		return err
	}
	if err := set(&c.MaxResults, "MAX_RESULTS", 1000); err != nil {
		return err
	}
	if err := set(&c.DefaultCount, "DEFAULT_COUNT", 100); err != nil {
		return err
	}
	c.DefaultCount = min(c.DefaultCount, c.MaxResults)
	if err := envDuration(e, &c.LogRetention, "LOG_RETENTION", 30*24*time.Hour, durationSetter); err != nil {
		return err
	}
	if err := envDuration(e, &c.ShutdownDelay, "SHUTDOWN_DELAY", 0, delaySetter); err != nil {
		return err
	}
	return envDuration(e, &c.ShutdownTimeout, "SHUTDOWN_TIMEOUT", 10*time.Second, durationSetter)
}

// envDuration fills a duration not given as a flag from ROSTER_<name>, or
// the default.
func envDuration(e env, dst *time.Duration, name string, def time.Duration, setter func(*time.Duration) func(string) error) error {
	if *dst != 0 {
		return nil
	}
	*dst = def
	if v := e("ROSTER_" + name); v != "" {
		if err := setter(dst)(v); err != nil {
			return &usageError{message: fmt.Sprintf("ROSTER_%s %v, got %q", name, err, v), hint: "unset it or fix its value"}
		}
	}
	return nil
}

// durationSetter parses a positive duration such as 720h.
func durationSetter(dst *time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration such as 720h")
		}
		*dst = d
		return nil
	}
}

// delaySetter parses a duration that may be zero, such as 5s or 0, for
// settings whose default is none.
func delaySetter(dst *time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Errorf("must be a duration such as 5s, or 0 for none")
		}
		*dst = d
		return nil
	}
}

func intSetter[T int | int64](dst *T) func(string) error {
	return func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("must be a positive integer")
		}
		*dst = T(n)
		return nil
	}
}

// newLogger builds the slog logger: human-readable text on a terminal,
// JSON lines otherwise (or as asked).
func newLogger(c *Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, &usageError{message: fmt.Sprintf("unknown log level %q", c.LogLevel), hint: "use debug, info, warn or error"}
	}
	opts := &slog.HandlerOptions{Level: level}
	format := strings.ToLower(c.LogFormat)
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, &usageError{message: fmt.Sprintf("unknown log format %q", c.LogFormat), hint: `use "text" or "json"`}
}
