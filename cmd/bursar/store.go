package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"bursar/internal/store/postgres"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
	"bursar/internal/vault"
)

// openStore opens (and migrates) the database the flags choose: PostgreSQL
// when a URL is given, else SQLite in the data directory. The store seals
// personal data and secrets with the key-encryption key file, created at
// first start; it lives in the data directory with PostgreSQL too, like
// the audit keys: the database must not hold the key to its own data.
func openStore(ctx context.Context, sf storeFlags) (*sqlstore.Store, error) {
	if err := os.MkdirAll(sf.dataDir, 0o700); err != nil {
		return nil, usagef("invalid --data-dir (%s) %q: %v", envName("data-dir"), sf.dataDir, err)
	}
	kek, err := vault.LoadOrCreateKEKFile(sf.kekPath())
	if err != nil {
		return nil, fmt.Errorf("--kek-file (%s) %q: %w", envName("kek-file"), sf.kekPath(), err)
	}
	if sf.databaseURL != "" {
		st, err := postgres.Open(ctx, sf.databaseURL, sqlstore.WithKEK(kek))
		if err != nil {
			return nil, fmt.Errorf("--database-url (%s): %w", envName("database-url"), err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, filepath.Join(sf.dataDir, "bursar.db"), sqlstore.WithKEK(kek))
	if err != nil {
		return nil, fmt.Errorf("--data-dir (%s) %q: %w", envName("data-dir"), sf.dataDir, err)
	}
	return st, nil
}
