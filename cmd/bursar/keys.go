package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"bursar/internal/store/sqlstore"
	"bursar/internal/vault"
)

const keysSynopsis = "keys rotate [--kek] [--batch 200] [--wait 1m] | keys reencrypt [--batch 200] [flags]"

// runKeys manages the keys of the data sealed at rest.
//
// keys rotate adds a new primary data key to every organization's keyset
// (in the database, so every replica sees it within the vault's cache
// time), then re-encrypts in batches what older keys sealed; the server
// keeps serving meanwhile, as older keys still open. With --kek it rotates
// the key-encryption key file instead and wraps every organization's data
// keys again with its new key: copy the rotated file to every replica.
// keys reencrypt only runs the re-encryption (serve runs it at start too).
// Both then retire the data keys that no sealed value uses any more.
func runKeys(ctx context.Context, io stdio, args []string) error {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "reencrypt") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(io.stderr, "usage: bursar "+keysSynopsis)
			return flag.ErrHelp
		}
		return usagef("want a subcommand: rotate or reencrypt")
	}
	sub := args[0]
	fs := newFlagSet(io, "keys "+sub, keysSynopsis)
	var sf storeFlags
	sf.register(fs)
	kek := fs.Bool("kek", false, "rotate the key-encryption key file rather than the organizations' data keys")
	batch := fs.Int("batch", 200, "rows read per batch while re-encrypting")
	wait := fs.Duration("wait", vault.DefaultCacheTTL, "after rotating, how long running replicas may still seal with the previous key (their key cache time) before the last re-encryption pass; 0 when no server runs")
	if err := parse(io, fs, args[1:]); err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return err
	}
	if *wait < 0 {
		return usagef("invalid --wait (%s) %s: must not be negative", envName("wait"), *wait)
	}
	if *batch < 1 {
		return usagef("invalid --batch (%s) %d: must be at least 1", envName("batch"), *batch)
	}
	if *kek && sub != "rotate" {
		return usagef("--kek goes with keys rotate")
	}
	if *kek {
		return rotateKEK(ctx, io, sf)
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "rotate" {
		orgs, err := st.Vault().Orgs(ctx)
		if err != nil {
			return err
		}
		for _, org := range orgs {
			id, err := st.Vault().Rotate(ctx, org)
			if err != nil {
				return err
			}
			fmt.Fprintf(io.stdout, "%s: new primary data key %d\n", org, id)
		}
		// Replicas keep sealing with the previous key until their cache
		// expires; wait that long before the pass that must find nothing.
		fmt.Fprintf(io.stderr, "re-encrypting; a last pass runs once replicas' key caches have expired (%s)\n", *wait)
	}
	if err := reencrypt(ctx, st, *batch, nil); err != nil {
		return err
	}
	// Retire what no replica may still seal with: after a rotation, the
	// keys older than the wait; otherwise those older than a cache time.
	settle := vault.DefaultCacheTTL
	if sub == "rotate" {
		select {
		case <-time.After(*wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := reencrypt(ctx, st, *batch, nil); err != nil {
			return err
		}
		settle = *wait
	}
	fmt.Fprintln(io.stdout, "every sealed value uses its owner's primary data key")
	rs, err := st.RetireKeys(ctx, settle)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.stdout, "retired %d data keys that seal nothing any more\n", rs.Retired)
	if rs.Skipped > 0 {
		fmt.Fprintf(io.stderr, "%d key rings changed within %s or meanwhile: run keys reencrypt later to retire their old keys\n", rs.Skipped, settle)
	}
	return nil
}

// reencrypt runs re-encryption passes until one finds nothing to do.
func reencrypt(ctx context.Context, st *sqlstore.Store, batch int, log *slog.Logger) error {
	for {
		s, err := st.Reencrypt(ctx, batch)
		if err != nil {
			return err
		}
		if log != nil && (s.Rows > 0 || s.Conflicts > 0) {
			log.Info("re-encrypted sealed values", "rows", s.Rows, "conflicts", s.Conflicts)
		}
		if s.Rows == 0 && s.Conflicts == 0 {
			return nil
		}
	}
}

// rotateKEK rotates the key-encryption key file and wraps every data
// keyset again with the new key.
func rotateKEK(ctx context.Context, io stdio, sf storeFlags) error {
	if err := ensureKEK(sf); err != nil {
		return err
	}
	id, err := vault.RotateKEKFile(sf.kekPath())
	if err != nil {
		return fmt.Errorf("--kek-file (%s) %q: %w", envName("kek-file"), sf.kekPath(), err)
	}
	st, err := openStore(ctx, sf) // reads the rotated file
	if err != nil {
		return err
	}
	defer st.Close()
	orgs, err := st.Vault().Orgs(ctx)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		if err := st.Vault().Rewrap(ctx, org); err != nil {
			return err
		}
	}
	fmt.Fprintf(io.stdout, "new primary key-encryption key %d; %d organizations' data keys wrapped again\n", id, len(orgs))
	fmt.Fprintln(io.stdout, "copy the key file to every replica and restart them now: the older key is still in it, so nothing else changes")
	return nil
}

// ensureKEK creates the key file if it does not exist yet.
func ensureKEK(sf storeFlags) error {
	_, err := vault.LoadOrCreateKEKFile(sf.kekPath())
	if err != nil {
		return fmt.Errorf("--kek-file (%s) %q: %w", envName("kek-file"), sf.kekPath(), err)
	}
	return nil
}
