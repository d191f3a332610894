package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"bursar/internal/vault"
)

// usageError is bad configuration: main prints it as one line and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// envName is the environment twin of a flag: --database-url is
// BURSAR_DATABASE_URL.
func envName(flagName string) string {
	return "BURSAR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args into fs, then fills every flag not given on the
// command line from its BURSAR_* environment twin. Errors name the setting.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	fs.SetOutput(io.Discard)
	// The flag package prints the usage on any error; a bad flag should
	// be one line, so usage is printed only for -h (by the caller).
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	err = nil
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("invalid %s=%q: %v", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// printUsage writes the flags of fs with their environment twins.
func printUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "usage: bursar %s\n\nflags (each also read from its environment variable):\n", synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" {
			def = fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
	})
}

// storeFlags are the settings that choose the database, shared by every
// subcommand that opens it.
type storeFlags struct {
	dataDir     string
	databaseURL string
	kekFile     string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dataDir, "data-dir", "./bursar-data", "directory for the embedded SQLite database (used when no --database-url is given)")
	fs.StringVar(&s.databaseURL, "database-url", "", "PostgreSQL URL (postgres://user:pass@host:5432/db); empty means embedded SQLite")
	fs.StringVar(&s.kekFile, "kek-file", "", "key-encryption key of the data sealed at rest (tink keyset, mode 0600), created if missing; the same file on every replica, kept out of database backups (default: vault-kek.json in the data directory)")
}

// kekPath is the key-encryption key file the flags name.
func (s *storeFlags) kekPath() string {
	if s.kekFile != "" {
		return s.kekFile
	}
	return filepath.Join(s.dataDir, vault.KEKFile)
}

func (s *storeFlags) validate() error {
	if s.databaseURL != "" && !strings.HasPrefix(s.databaseURL, "postgres://") && !strings.HasPrefix(s.databaseURL, "postgresql://") {
		return usagef("invalid --database-url (%s): must start with postgres:// or postgresql://", envName("database-url"))
	}
	if s.databaseURL == "" && s.dataDir == "" {
		return usagef("invalid --data-dir (%s): must not be empty", envName("data-dir"))
	}
	return nil
}

// logFlags choose how the process logs (always to stderr).
type logFlags struct {
	level  string
	format string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usagef("invalid --log-level (%s) %q: must be debug, info, warn or error", envName("log-level"), l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("invalid --log-format (%s) %q: must be text or json", envName("log-format"), l.format)
}

func validateAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return usagef("invalid --addr (%s) %q: must be host:port, such as 127.0.0.1:8080", envName("addr"), addr)
	}
	_ = host
	return nil
}

// stdio is where a command reads and writes; tests pass buffers.
type stdio struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func defaultIO() stdio {
	return stdio{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
}
