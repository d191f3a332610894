package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"bursar/internal/store/postgres"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
)

// openStore opens (and migrates) the database the flags choose: PostgreSQL
// when a URL is given, else SQLite in the data directory.
func openStore(ctx context.Context, sf storeFlags) (*sqlstore.Store, error) {
	if sf.databaseURL != "" {
		st, err := postgres.Open(ctx, sf.databaseURL)
		if err != nil {
			return nil, fmt.Errorf("--database-url (%s): %w", envName("database-url"), err)
		}
		return st, nil
	}
	if err := os.MkdirAll(sf.dataDir, 0o700); err != nil {
		return nil, usagef("invalid --data-dir (%s) %q: %v", envName("data-dir"), sf.dataDir, err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(sf.dataDir, "bursar.db"))
	if err != nil {
		return nil, fmt.Errorf("--data-dir (%s) %q: %w", envName("data-dir"), sf.dataDir, err)
	}
	return st, nil
}
