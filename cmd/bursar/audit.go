package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"bursar/internal/audit"
	"bursar/internal/store/sqlstore"
)

const auditSynopsis = "audit verify|checkpoint|export|key|verify-export [flags]"

// runAudit dispatches the audit subcommands.
func runAudit(ctx context.Context, io stdio, args []string) error {
	subs := map[string]func(context.Context, stdio, []string) error{
		"verify": runAuditVerify, "checkpoint": runAuditCheckpoint, "export": runAuditExport,
		"key": runAuditKey, "verify-export": runAuditVerifyExport,
	}
	if len(args) == 0 || subs[args[0]] == nil {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(io.stderr, "usage: bursar "+auditSynopsis)
			return nil
		}
		return usagef("want a subcommand: %s", strings.Join(slices.Sorted(maps.Keys(subs)), ", "))
	}
	return subs[args[0]](ctx, io, args[1:])
}

// auditKeys loads the installation's audit keys from the data directory,
// creating them at first start. They live there with PostgreSQL too: the
// database must not hold the key that signs its own history.
func auditKeys(sf storeFlags) (*audit.Keys, error) {
	if err := os.MkdirAll(sf.dataDir, 0o700); err != nil {
		return nil, usagef("invalid --data-dir (%s) %q: %v", envName("data-dir"), sf.dataDir, err)
	}
	k, err := audit.LoadOrCreateKeys(sf.dataDir)
	if err != nil {
		return nil, fmt.Errorf("--data-dir (%s) %q: %w", envName("data-dir"), sf.dataDir, err)
	}
	return k, nil
}

// openAudit parses the store flags (and any the caller registered), and
// opens the store and the keys.
func openAudit(ctx context.Context, io stdio, fs *auditFlags, args []string) (*sqlstore.Store, *audit.Keys, error) {
	if err := parse(io, fs.FlagSet, args); err != nil {
		return nil, nil, err
	}
	if err := fs.sf.validate(); err != nil {
		return nil, nil, err
	}
	keys, err := auditKeys(fs.sf)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, fs.sf)
	if err != nil {
		return nil, nil, err
	}
	return st, keys, nil
}

func runAuditKey(_ context.Context, io stdio, args []string) error {
	fs := newAuditFlags(io, "audit key", "audit key [--data-dir DIR]")
	if err := parse(io, fs.FlagSet, args); err != nil {
		return err
	}
	keys, err := auditKeys(fs.sf)
	if err != nil {
		return err
	}
	fmt.Fprintln(io.stdout, keys.VerifierKey)
	return nil
}

func runAuditVerify(ctx context.Context, io stdio, args []string) error {
	fs := newAuditFlags(io, "audit verify", "audit verify [--key VERIFIERKEY] [flags]")
	vkey := fs.String("key", "", "verifier key to check checkpoints with (default: the one of the data directory's signing key)")
	st, keys, err := openAudit(ctx, io, fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	v := keys.Verifier
	if *vkey != "" {
		if v, err = note.NewVerifier(*vkey); err != nil {
			return usagef("invalid --key (%s): %v", envName("key"), err)
		}
	}
	problems, err := audit.Verify(ctx, st, v)
	if err != nil {
		return err
	}
	return report(io, problems, func() (string, error) {
		trees, err := st.AuditTrees(ctx)
		n := int64(0)
		for _, s := range trees {
			n += s
		}
		return fmt.Sprintf("audit log intact: %d trees, %d entries", len(trees), n), err
	})
}

// report prints the problems, or the summary when there are none.
func report(io stdio, problems []audit.Problem, summary func() (string, error)) error {
	if len(problems) == 0 {
		s, err := summary()
		if err != nil {
			return err
		}
		fmt.Fprintln(io.stdout, s)
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(io.stdout, p.String())
	}
	first := problems[0]
	if first.Index >= 0 {
		return fmt.Errorf("audit log tampered with: %d problems; first bad index %d of tree %s", len(problems), first.Index, first.Tree)
	}
	return fmt.Errorf("audit log tampered with: %d problems; %s", len(problems), first)
}

func runAuditCheckpoint(ctx context.Context, io stdio, args []string) error {
	fs := newAuditFlags(io, "audit checkpoint", "audit checkpoint [--org ID] [flags]")
	orgID := fs.String("org", "", "checkpoint only this organization's tree (default: every tree)")
	st, keys, err := openAudit(ctx, io, fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	l := &audit.Log{Store: st, Keys: keys, Now: time.Now}
	trees, err := st.AuditTrees(ctx)
	if err != nil {
		return err
	}
	for _, tree := range slices.Sorted(maps.Keys(trees)) {
		if *orgID != "" && tree != *orgID {
			continue
		}
		cp, err := l.Checkpoint(ctx, tree)
		if err != nil {
			return err
		}
		if _, err := io.stdout.Write(cp.Note); err != nil { // a note ends with a newline
			return err
		}
	}
	return nil
}

func runAuditExport(ctx context.Context, io stdio, args []string) error {
	fs := newAuditFlags(io, "audit export", "audit export [--since RFC3339] [--org ID] [--syslog udp://HOST:PORT] [flags]")
	since := fs.String("since", "", "export the entries at or after this time (RFC 3339); default: all")
	orgID := fs.String("org", "", "export only this organization's tree (default: every tree)")
	syslogURL := fs.String("syslog", "", "also forward each entry as an RFC 5424 message to udp://HOST:PORT or tcp://HOST:PORT")
	st, _, err := openAudit(ctx, io, fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	from := time.Time{}
	if *since != "" {
		if from, err = time.Parse(time.RFC3339, *since); err != nil {
			return usagef("invalid --since (%s) %q: must be an RFC 3339 time such as 2026-01-31T00:00:00Z", envName("since"), *since)
		}
	}
	var fwd *syslogForwarder
	if *syslogURL != "" {
		if fwd, err = dialSyslog(*syslogURL); err != nil {
			return usagef("invalid --syslog (%s) %q: %v", envName("syslog"), *syslogURL, err)
		}
		defer fwd.Close()
	}
	trees := []string{*orgID}
	if *orgID == "" {
		all, err := st.AuditTrees(ctx)
		if err != nil {
			return err
		}
		trees = slices.Sorted(maps.Keys(all))
	}
	out := bufio.NewWriter(io.stdout)
	for _, tree := range trees {
		entries, err := st.ListAuditEntries(ctx, audit.Filter{Tree: tree, Since: &from})
		if err != nil {
			return err
		}
		for _, e := range entries {
			// A failed write sticks in out and is reported by Flush.
			_, _ = out.Write(e.Leaf)
			_ = out.WriteByte('\n')
			if fwd != nil {
				if err := fwd.Send(e.Entry.Time, e.Leaf); err != nil {
					return fmt.Errorf("syslog: %w", err)
				}
			}
		}
	}
	return out.Flush()
}

func runAuditVerifyExport(_ context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "audit verify-export", "audit verify-export --key VERIFIERKEY --checkpoint FILE --log FILE")
	vkey := fs.String("key", "", "the installation's verifier key (from 'bursar audit key')")
	cpFile := fs.String("checkpoint", "", "file holding a signed checkpoint (GET /v1/audit/checkpoint, 'bursar audit checkpoint')")
	logFile := fs.String("log", "", "file holding the tree's entries as exported by 'bursar audit export --org ID' (from the first)")
	if err := parse(io, fs, args); err != nil {
		return err
	}
	v, err := note.NewVerifier(*vkey)
	if err != nil {
		return usagef("invalid --key (%s): %v", envName("key"), err)
	}
	signed, err := os.ReadFile(*cpFile) // #nosec G304 -- the auditor names the file
	if err != nil {
		return usagef("invalid --checkpoint (%s): %v", envName("checkpoint"), err)
	}
	cp, err := audit.OpenCheckpoint(signed, v)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	f, err := os.Open(*logFile) // #nosec G304 -- the auditor names the file
	if err != nil {
		return usagef("invalid --log (%s): %v", envName("log"), err)
	}
	defer f.Close()
	problems, n, err := verifyExport(f, cp, v)
	if err != nil {
		return err
	}
	return report(io, problems, func() (string, error) {
		return fmt.Sprintf("export intact: tree %s, %d entries, the first %d under the signed checkpoint", cp.Tree, n, cp.Size), nil
	})
}

// verifyExport recomputes the checkpoint's tree from the exported lines of
// that tree (other trees' lines are skipped) and checks the checkpoint.
func verifyExport(r io.Reader, cp *audit.Checkpoint, v note.Verifier) ([]audit.Problem, int64, error) {
	ver := audit.NewVerifier(cp.Tree)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		e, err := audit.Parse(line)
		if err == nil && e.Tree != cp.Tree {
			continue
		}
		ver.Add(ver.Size(), slices.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("read log: %w", err)
	}
	n := ver.Size()
	if n < cp.Size {
		return []audit.Problem{{Tree: cp.Tree, Index: n, Message: fmt.Sprintf("the export holds %d entries, the checkpoint covers %d: entries missing from index %d", n, cp.Size, n)}}, n, nil
	}
	return ver.Finish([]*audit.Checkpoint{cp}, v, n), n, nil
}

// auditFlags is a command's flag set with the store flags registered.
type auditFlags struct {
	*flag.FlagSet
	sf storeFlags
}

func newAuditFlags(io stdio, name, synopsis string) *auditFlags {
	fs := &auditFlags{FlagSet: newFlagSet(io, name, synopsis)}
	fs.sf.register(fs.FlagSet)
	return fs
}

// auditLog opens the audit log of a command that changes the business
// outside the API.
func auditLog(sf storeFlags, st *sqlstore.Store) (*audit.Log, error) {
	keys, err := auditKeys(sf)
	if err != nil {
		return nil, err
	}
	return &audit.Log{Store: st, Keys: keys, Now: time.Now}, nil
}

// auditCLI appends the entry of a change made on the command line, in the
// transaction of ctx. The actor is the system, named by the command: the
// operator at the console has no API key.
func auditCLI(ctx context.Context, l *audit.Log, command, tree, action, objectType, objectID string, before, after any) error {
	fields, err := audit.Changes(l.Keys.Hasher, tree, objectType, before, after)
	if err != nil {
		return err
	}
	return l.Append(ctx, &audit.Entry{Tree: tree, Actor: audit.Actor{Type: audit.ActorSystem, ID: "cli:" + command},
		Action: action, ObjectType: objectType, ObjectID: objectID, Fields: fields})
}
