// Command bursar is the Bursar invoicing and usage-billing server and its
// administration tool.
//
//	bursar serve                 run the server (SQLite in ./bursar-data by default)
//	bursar migrate               apply database migrations and exit
//	bursar admin init            create an organization, its owner and a first API key
//	bursar apikey create|list|revoke
//	bursar audit verify|checkpoint|export|key|verify-export
//	bursar ip deny|allow|list|remove   manage the server's address rules
//	bursar keys rotate [--kek]   rotate the keys of the data sealed at rest
//	bursar backup --out FILE     write an encrypted, consistent backup while the server runs
//	bursar restore FILE --data-dir DIR --backup-key FILE
//	bursar purge [--dry-run]     remove documents past their retention period
//	bursar bench                measure throughput against baselines (make bench)
//	bursar healthcheck           exit 0 if a running server's /healthz answers (for containers)
//	bursar version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name     string
	synopsis string
	run      func(ctx context.Context, io stdio, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "serve [flags]", runServe},
		{"migrate", "migrate [flags]", runMigrate},
		{"admin", "admin init --org NAME --email EMAIL [--currency EUR] [--country DE] [flags]", runAdmin},
		{"audit", auditSynopsis, runAudit},
		{"apikey", "apikey create|list|revoke --org ID [flags]", runAPIKey},
		{"ip", ipSynopsis, runIP},
		{"keys", keysSynopsis, runKeys},
		{"backup", backupSynopsis, runBackup},
		{"restore", restoreSynopsis, runRestore},
		{"purge", purgeSynopsis, runPurge},
		{"bench", "bench [--out FILE] [--duration 10s] [--clients 8] [--smoke]", runBench},
		{"healthcheck", "healthcheck [--url http://127.0.0.1:8080/healthz] [--timeout 3s]", runHealthcheck},
		{"version", "version", func(_ context.Context, io stdio, _ []string) error {
			fmt.Fprintln(io.stdout, "bursar", version)
			return nil
		}},
	}
}

func usage(io stdio) {
	fmt.Fprintln(io.stderr, "usage: bursar <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(io.stderr, "  %s\n", c.synopsis)
	}
	fmt.Fprintln(io.stderr, "\nRun 'bursar <command> -h' for a command's flags.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, defaultIO(), os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit status: 0 on
// success, 2 for bad usage or configuration, 1 for any other failure.
func run(ctx context.Context, io stdio, args []string) int {
	if len(args) == 0 {
		usage(io)
		return 2
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, io, args[1:])
		var ue *usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(io.stderr, "bursar %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(io.stderr, "bursar %s: %v\n", c.name, err)
			return 1
		}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io)
		return 0
	}
	fmt.Fprintf(io.stderr, "bursar: unknown command %q (try 'bursar help')\n", args[0])
	return 2
}

// newFlagSet makes a flag set whose -h prints the command's usage.
func newFlagSet(io stdio, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() { printUsage(io.stderr, fs, synopsis) }
	return fs
}

// parse parses flags and prints usage for -h.
func parse(io stdio, fs *flag.FlagSet, args []string) error {
	err := parseFlags(fs, args, io.getenv)
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
	}
	return err
}
