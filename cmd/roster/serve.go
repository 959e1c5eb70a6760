package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/adminhttp"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/oauthhttp"
	"github.com/roster-scim/roster/postgres"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/runner"
	"github.com/roster-scim/roster/reqlog"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
	"github.com/roster-scim/roster/sqlite"
)

// initResult is what init prints with --json, and what serve prints once on
// an empty data directory.
type initResult struct {
	IdPID      string `json:"idp_id"`
	SCIMPath   string `json:"scim_path"`
	Token      string `json:"token"`
	OrgID      string `json:"organization_id"`
	AdminToken string `json:"admin_token"`
}

func runInit(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var c Config
	fs := newFlagSet("init", "Initialize an empty data directory: one organization, one IdP configuration\n(directory) and one API key with read and write privileges on Users and Groups.\nThe key's secret is printed once and cannot be shown again.", stderr)
	addDataFlag(fs, &c, getenv)
	fs.BoolVar(&c.JSON, "json", false, `print {"idp_id", "scim_path", "token"} as one JSON object`)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := c.loadSecrets(getenv); err != nil {
		return err
	}
	db, err := openStore(ctx, c.Data, c.Database, true)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := bootstrap(ctx, db)
	if roster.ErrorCode(err) == roster.ECONFLICT {
		return fmt.Errorf("%s is already initialized; its API key secret was shown when it was created and cannot be shown again", c.Data)
	} else if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printTenant(stdout, "http://<host>", res)
	return nil
}

// runMigrate applies pending migrations and exits, so that a deployment can
// migrate once before starting replicas with --no-migrate.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var c Config
	fs := newFlagSet("migrate", "Apply the database migrations and exit. Replicas started together migrate only\nonce anyway (an advisory lock guards PostgreSQL); this runs them ahead of time.", stderr)
	addDataFlag(fs, &c, getenv)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := c.loadSecrets(getenv); err != nil {
		return err
	}
	db, err := openStore(ctx, c.Data, c.Database, true)
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, "The database is migrated to the latest schema.")
	return err
}

func printTenant(w io.Writer, origin string, res *initResult) {
	fmt.Fprintf(w, "Roster is initialized.\n  Tenant URL: %s%s\n  IdP ID:     %s\n  Secret token (shown once, store it now): %s\n", origin, res.SCIMPath, res.IdPID, res.Token)
	fmt.Fprintf(w, "  Organization: %s\n  Admin token for /v1/admin and `roster --server` (shown once): %s\n", res.OrgID, res.AdminToken)
}

// store is everything the server keeps: both stores implement it.
type store interface {
	scim.Store
	roster.AdminStore
	roster.RequestLogStore
	provision.StateStore
	Close() error
}

// openStore opens PostgreSQL when a database URL is given, else the SQLite
// database in the data directory. migrate=false connects to PostgreSQL
// without applying migrations (run `roster migrate` first); SQLite always
// migrates, since only one process opens it.
func openStore(ctx context.Context, dir, databaseURL string, migrate bool) (store, error) {
	reg := scim.NewRegistry()
	if databaseURL != "" {
		if !migrate {
			return postgres.Connect(ctx, databaseURL, reg)
		}
		return postgres.Open(ctx, databaseURL, reg)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return sqlite.Open(ctx, dir, reg)
}

// bootstrap creates the first organization, directory and key.
func bootstrap(ctx context.Context, db roster.AdminStore) (*initResult, error) {
	b, secret, adminSecret := manage.NewBootstrap()
	if err := db.Bootstrap(ctx, b); err != nil {
		return nil, err
	}
	return &initResult{IdPID: b.Dir.ID, SCIMPath: "/v1/scim/" + b.Dir.ID, Token: secret, OrgID: b.Org.ID, AdminToken: adminSecret}, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var c Config
	fs := newFlagSet("serve", "Serve the SCIM API until SIGINT or SIGTERM. On an empty data directory, initialize\nit first and print the tenant URL and secret token once.", stderr)
	addServeFlags(fs, &c, getenv)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := c.applyEnvNumbers(getenv); err != nil {
		return err
	}
	if err := c.loadSecrets(getenv); err != nil {
		return err
	}
	log, err := newLogger(&c, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, &c, log, stdout, nil)
}

// ensureAdmin makes ROSTER_ADMIN_TOKEN a server admin, so an operator can
// provision the first admin from a secret store instead of `roster init`.
// It is idempotent: the token's hash is stored once.
func ensureAdmin(ctx context.Context, db roster.AdminStore, token string) error {
	if token == "" {
		return nil
	}
	if len(token) < 20 {
		return &usageError{message: "ROSTER_ADMIN_TOKEN is shorter than 20 characters", hint: "use a long random secret, e.g. from `openssl rand -base64 32`"}
	}
	err := db.CreateAdmin(ctx, &roster.Admin{ID: roster.NewID(), Name: "ROSTER_ADMIN_TOKEN", SecretHash: roster.HashSecret(token)})
	if roster.ErrorCode(err) == roster.ECONFLICT {
		return nil
	}
	return err
}

// serve runs the server until ctx is done. ready, when not nil, receives
// the listening address (tests listen on port 0).
func serve(ctx context.Context, c *Config, log *slog.Logger, stdout io.Writer, ready chan<- string) error {
	db, err := openStore(ctx, c.Data, c.Database, !c.NoMigrate)
	if err != nil {
		return err
	}
	defer db.Close() // the store closes last, after HTTP has drained
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	if ok, err := db.Initialized(ctx); err != nil {
		ln.Close()
		return err
	} else if !ok {
		// Replicas started together on an empty database all get here;
		// Bootstrap lets one of them in, and the others serve what it
		// created.
		res, err := bootstrap(ctx, db)
		switch {
		case roster.ErrorCode(err) == roster.ECONFLICT:
			log.Info("another replica initialized the database")
		case err != nil:
			ln.Close()
			return err
		default:
			printTenant(stdout, "http://"+ln.Addr().String(), res)
		}
	}
	prom := prometheus.NewRegistry()
	prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg := scimhttp.Config{MaxBodyBytes: c.MaxBodyBytes, MaxResults: c.MaxResults, DefaultCount: c.DefaultCount}
	srv := scimhttp.New(db, db, &c.Profiles, log, prom, cfg)
	// The request log's Close runs deferred: after hs.Shutdown has stopped
	// every request, and before the store closes.
	requests := reqlog.NewRecorder(db, db.FindDirectory, log, reqlog.Options{Retention: c.LogRetention, Registerer: prom})
	defer requests.Close()
	srv.SetRequestRecorder(requests)
	if err := ensureAdmin(ctx, db, c.AdminToken); err != nil {
		ln.Close()
		return err
	}
	srv.Mount("/v1/admin/", adminhttp.New(newService(db, &c.Profiles), db, log))
	srv.Mount(oauthhttp.Path, oauthhttp.New(db, log, nil))
	hs := &http.Server{Handler: srv.Handler(prom), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	stopJobs := startJobs(ctx, c, db, log)
	// Workers stop after HTTP has drained and before the store closes.
	defer stopJobs()
	log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("data", c.Data))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if c.ShutdownDelay > 0 {
		// Readiness fails first and requests keep being served, so that
		// the load balancer has moved on before connections close.
		srv.Drain()
		log.Info("draining: /readyz answers 503", slog.Duration("delay", c.ShutdownDelay))
		time.Sleep(c.ShutdownDelay)
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// startJobs runs the provisioning jobs' scheduler until stopped. A cycle
// cut short by the stop is continued later, here or by another replica,
// from where it was: its state says it was running and its lease is given
// up.
func startJobs(ctx context.Context, c *Config, db store, log *slog.Logger) (stop func()) {
	if c.JobsCheck < 0 {
		return func() {} // no scheduler (tests that run jobs themselves)
	}
	key, err := secretKey(c.SecretKey, c.Data, c.Database)
	if err != nil {
		log.Info("provisioning jobs are not scheduled", slog.String("reason", err.Error()))
		return func() {}
	}
	sealer, err := provision.NewSealer(key)
	if err != nil {
		log.Error("provisioning jobs are not scheduled", slog.String("reason", err.Error()))
		return func() {}
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s pid %d %s", host, os.Getpid(), roster.NewID()[:8])
	r := &runner.Runner{Store: db, Sealer: sealer, Logger: log, LogRetention: c.LogRetention,
		Engine: &provision.Engine{Store: db, Holder: holder, Logger: log}}
	check := c.JobsCheck
	if check == 0 {
		check = 30 * time.Second
	}
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); r.Schedule(jctx, check) }()
	return func() { cancel(); <-done }
}
