package main

import (
	"context"
	"errors"
	"os"
	"testing"

	"bursar/internal/store/pgtest"
	"bursar/internal/store/postgres"
)

// The benchmark measures commits that wait for the disk on both stores, and
// says so in its report as the databases themselves report it: SQLite as
// Bursar opens it, and the PostgreSQL cluster the benchmark starts, unlike
// the tests' clusters, which trade durability for speed.
func TestBenchCommitsWaitForTheDisk(t *testing.T) {
	ctx := context.Background()
	lite, err := openStore(ctx, storeFlags{dataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if got, err := durability(ctx, lite.DB(), false); err != nil || got != "synchronous=FULL, journal_mode=wal" {
		t.Errorf("SQLite: durability = %q, %v; want synchronous=FULL, journal_mode=wal", got, err)
	}

	// The tests' cluster reports its settings off: the report does not
	// just print what it hopes.
	test, err := postgres.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer test.Close()
	if got, err := durability(ctx, test.DB(), true); err != nil || got != "fsync=off, synchronous_commit=off" {
		t.Errorf("test cluster: durability = %q, %v; want fsync=off, synchronous_commit=off", got, err)
	}

	bench, stop, err := openBenchPostgres(ctx, "")
	if errors.Is(err, pgtest.ErrNoPostgres) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	defer bench.Close()
	if got, err := durability(ctx, bench.DB(), true); err != nil || got != "fsync=on, synchronous_commit=on" {
		t.Errorf("benchmark cluster: durability = %q, %v; want fsync=on, synchronous_commit=on", got, err)
	}
}
