package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "migrate", "migrate [flags]")
	var sf storeFlags
	sf.register(fs)
	if err := parse(io, fs, args); err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return err
	}
	// Opening a store migrates it, under a lock on PostgreSQL so that
	// several processes may start at once; a database newer than this
	// binary is refused.
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	current, known, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.stderr, "schema at version %d (this binary knows %d)\n", current, known)
	return nil
}
