package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar/internal/audit"
	"bursar/internal/store/pgtest"
)

// pgTables reads every table of a PostgreSQL database as dump does a
// SQLite one.
func pgTables(t *testing.T, db *sql.DB) map[string]table {
	return readTables(t, db,
		"SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
		`SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary`)
}

// TestPostgresBackupUnderLoadRestores backs up a PostgreSQL database with
// bursar backup (pg_dump) while goroutines create and finalize invoices,
// decrypts it with bursar restore --pg-archive, restores the archive with
// pg_restore into a new database, verifies the audit log there and
// compares every table with the source at the backup's moment.
func TestPostgresBackupUnderLoadRestores(t *testing.T) {
	ctx := context.Background()
	sf := storeFlags{dataDir: t.TempDir(), databaseURL: pgtest.URL(t)}
	pgDump, pgRestore := pgtest.Bin(t, "pg_dump"), pgtest.Bin(t, "pg_restore")
	st, err := openStore(ctx, sf)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := auditKeys(sf)
	if err != nil {
		t.Fatal(err)
	}
	log := &audit.Log{Store: st, Keys: keys, Now: time.Now}
	o, cus := seedAcme(t, st)
	load := startInvoiceLoad(t, st, log, o.ID, cus.ID)
	load.waitFor(t, 50)
	before := pgTables(t, st.DB())
	file := filepath.Join(t.TempDir(), "bursar.backup")
	var out, errOut bytes.Buffer
	io := stdio{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if code := run(ctx, io, []string{"backup", "--database-url", sf.databaseURL, "--data-dir", sf.dataDir, "--out", file, "--pg-dump", pgDump}); code != 0 {
		t.Fatalf("backup = %d: %s", code, errOut.String())
	}
	after := pgTables(t, st.DB())
	load.waitFor(t, load.made.Load()+20) // the load goes on after the backup
	load.end(t)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{"Globex", "ap@globex.example", "PGDMP", "work 0."} {
		if bytes.Contains(raw, []byte(clear)) {
			t.Errorf("the backup holds %q in clear", clear)
		}
	}

	// Decrypt into an archive, which pg_restore loads into a new database.
	archive := filepath.Join(t.TempDir(), "bursar.pgdump")
	if code := run(ctx, io, []string{"restore", file, "--pg-archive", archive, "--backup-key", filepath.Join(sf.dataDir, "backup.key")}); code != 0 {
		t.Fatalf("restore = %d: %s", code, errOut.String())
	}
	restoredURL := pgtest.URL(t)
	// #nosec G204 -- the test's own PostgreSQL program and files
	if b, err := exec.CommandContext(ctx, pgRestore, "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", restoredURL, archive).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, b)
	}
	out.Reset()
	if code := run(ctx, io, []string{"audit", "verify", "--database-url", restoredURL, "--data-dir", sf.dataDir}); code != 0 || !strings.Contains(out.String(), "audit log intact") {
		t.Fatalf("audit verify of the restored database = %d: %s %s", code, out.String(), errOut.String())
	}
	rsf := storeFlags{dataDir: sf.dataDir, databaseURL: restoredURL}
	rs, err := openStore(ctx, rsf)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	// The restored copy opens its sealed values with the same key file.
	if got, err := rs.GetCustomer(ctx, o.ID, cus.ID); err != nil || got.Email != "ap@globex.example" {
		t.Errorf("restored customer = %+v, %v; want its email opened", got, err)
	}
	restored := pgTables(t, rs.DB())
	for _, p := range append(compareSnapshot(before, after, restored), consistency(t, rs.DB())...) {
		t.Error(p)
	}
	n := len(restored["invoices"])
	if n < len(before["invoices"]) || n > len(after["invoices"]) {
		t.Errorf("restored %d invoices, want between %d and %d", n, len(before["invoices"]), len(after["invoices"]))
	}
	t.Logf("restored %d invoices; %d before the backup, %d after it, %d at the end", n, len(before["invoices"]), len(after["invoices"]), load.made.Load())
}
