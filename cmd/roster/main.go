// Command roster is Roster's one binary: the SCIM 2.0 server and the admin
// commands that prepare its data directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// usageError is a command-line mistake: it is printed with a hint and the
// process exits 2, the convention of flag and most Unix tools.
type usageError struct {
	message, hint string
}

func (e *usageError) Error() string { return e.message }

const topUsage = `Roster is a SCIM 2.0 provisioning server.

Usage:
  roster <command> [flags]

Commands:
  serve   run the SCIM server (initializes an empty data directory first)
  init    initialize a data directory and print its tenant URL and API key
  migrate apply database migrations and exit
  copy    copy a data directory's SQLite database into PostgreSQL
  org     create and list organizations
  admin   create, list and revoke admins of an organization
  key     create, list and revoke API keys
  idp     create, show, update and delete IdP configurations (SCIM directories)
  oauth   manage OAuth 2.0 client-credentials clients and their secrets
  profile list and show attribute profiles
  logs    read the request log: every SCIM request an IdP made, and its outcome
  scope   evaluate a scoping filter against an object's attributes
  expr    evaluate an attribute-mapping expression against an object's attributes
  job     create, run and inspect provisioning jobs (push a directory into a SCIM app)
  bench   load any SCIM 2.0 endpoint with Entra's request mix and report throughput and latency
  help    show help for a command

Admin commands work on a data directory (--data) or on a running server
(--server URL with ROSTER_ADMIN_TOKEN) and print JSON with --json.

Run "roster <command> --help" for the flags of a command.
Every flag can also be set with a ROSTER_* environment variable (see README).
`

// Run executes the command line and returns the exit code. It is main
// without the process, so tests can run every command in-process.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = runServe(ctx, rest, stdout, stderr, getenv)
	case "init":
		err = runInit(ctx, rest, stdout, stderr, getenv)
	case "migrate":
		err = runMigrate(ctx, rest, stdout, stderr, getenv)
	case "copy":
		err = runCopy(ctx, rest, stdout, stderr, getenv)
	case "org", "admin", "key", "idp", "oauth", "profile", "logs":
		err = runAdmin(ctx, cmd, rest, stdout, stderr, getenv)
	case "scope":
		err = runScope(rest, os.Stdin, stdout, stderr)
	case "expr":
		err = runExpr(rest, stdout, stderr)
	case "job":
		err = runJob(ctx, rest, stdout, stderr, getenv)
	case "bench":
		err = runBench(ctx, rest, stdout, stderr, getenv)
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 {
			return Run(ctx, []string{rest[0], "--help"}, stdout, stderr, getenv)
		}
		fmt.Fprint(stdout, topUsage)
		return 0
	default:
		err = &usageError{message: fmt.Sprintf("unknown command %q", cmd), hint: `run "roster --help" for the list of commands`}
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "roster: %s\nhint: %s\n", ue.message, ue.hint)
		return 2
	default:
		fmt.Fprintf(stderr, "roster: %s\n", err)
		return 1
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: roster %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning a flag error into a usage error with a
// hint; --help prints the usage and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := parseFlagsOnly(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{message: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), hint: fmt.Sprintf(`run "roster %s --help" for the flags`, fs.Name())}
	}
	return nil
}

// parsePositional parses flags given before, between and after positional
// arguments, which it returns; the flag package alone stops at the first
// positional argument. After "--" everything is positional.
func parsePositional(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := parseFlagsOnly(fs, args, stderr); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	return pos, nil
}

// parseFlagsOnly is parseFlags for a command that takes positional
// arguments: it leaves them in fs.Args().
func parseFlagsOnly(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	usage := fs.Usage
	fs.Usage = func() {} // errors are reported below, with a hint
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
		return err
	}
	if err != nil {
		return &usageError{message: err.Error(), hint: fmt.Sprintf(`run "roster %s --help" for the flags`, fs.Name())}
	}
	return nil
}
