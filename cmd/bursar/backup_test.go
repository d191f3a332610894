package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar/internal/audit"
	"bursar/internal/store/sqlite"
)

// table is every row of a table by primary key (the whole row for a table
// without one), each row as text.
type table map[string]string

// dump reads every table of a SQLite database.
func dump(t *testing.T, db *sql.DB) map[string]table {
	return readTables(t, db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
		"SELECT name FROM pragma_table_info(?) WHERE pk > 0")
}

// readTables reads every table that tablesQuery names, each row as text
// keyed by the columns that pkQuery (given the table's name) names.
func readTables(t *testing.T, db *sql.DB, tablesQuery, pkQuery string) map[string]table {
	t.Helper()
	column := func(q string, args ...any) []string {
		rows, err := db.Query(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	out := map[string]table{}
	for _, name := range column(tablesQuery) {
		pk := map[string]bool{}
		for _, c := range column(pkQuery, name) {
			pk[c] = true
		}
		rows, err := db.Query(`SELECT * FROM "` + name + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		tb := table{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var row, key []string
			for i, v := range vals {
				s := fmt.Sprintf("%T:%v", v, v)
				if b, ok := v.([]byte); ok {
					s = fmt.Sprintf("blob:%x", b)
				}
				if tm, ok := v.(time.Time); ok {
					s = "time:" + tm.UTC().Format(time.RFC3339Nano)
				}
				row = append(row, s)
				if pk[cols[i]] {
					key = append(key, s)
				}
			}
			if len(pk) == 0 {
				key = row
			}
			tb[strings.Join(key, "|")] = strings.Join(row, "|")
		}
		rows.Close()
		out[name] = tb
	}
	return out
}

// compareSnapshot checks a restored database against the source as it was
// just before the backup began and just after it ended: every row that
// existed before is restored, every restored row existed before or after,
// and each restored row is the version of one of the two moments (rows
// the load writes are never changed after their transaction; the counters
// that do change are checked for consistency instead).
//
// The counters are rows that the writers raise while the backup runs: the
// snapshot falls between the two reads, so their value is neither moment's.
var counters = map[string]bool{"audit_trees": true, "number_series": true}

func compareSnapshot(before, after, restored map[string]table) []string {
	var problems []string
	for name, rows := range after {
		if _, ok := restored[name]; !ok {
			problems = append(problems, "table "+name+" is missing")
		}
		_ = rows
	}
	for name, rows := range restored {
		for key, got := range rows {
			b, inBefore := before[name][key]
			a, inAfter := after[name][key]
			if !inBefore && !inAfter {
				problems = append(problems, fmt.Sprintf("%s: row %s was never in the source", name, key))
			} else if got != b && got != a && !counters[name] {
				problems = append(problems, fmt.Sprintf("%s: row %s = %s, want the source's %s or %s", name, key, got, b, a))
			}
		}
		for key := range before[name] {
			if _, ok := rows[key]; !ok {
				problems = append(problems, fmt.Sprintf("%s: row %s, committed before the backup, is missing", name, key))
			}
		}
	}
	return problems
}

// consistency checks that the restored database is one transaction-
// consistent moment: each tree's size is its entries, the number series
// counted every numbered invoice, and every invoice has its audit entry
// and the other way round.
func consistency(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var problems []string
	for _, q := range []struct{ what, sql string }{
		{"audit trees whose size is not their entries", "SELECT count(*) FROM audit_trees t WHERE size <> (SELECT count(*) FROM audit_entries e WHERE e.tree = t.tree)"},
		{"number series that are not their invoices", "SELECT count(*) FROM number_series s WHERE last_value <> (SELECT count(*) FROM invoices i WHERE i.org_id = s.org_id AND i.number <> '')"},
		{"invoices without their finalize entry", "SELECT count(*) FROM invoices i WHERE NOT EXISTS (SELECT 1 FROM audit_entries e WHERE e.object_id = i.id AND e.action = 'invoice.finalized')"},
		{"finalize entries without their invoice", "SELECT count(*) FROM audit_entries e WHERE e.action = 'invoice.finalized' AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.id = e.object_id)"},
	} {
		var n int
		if err := db.QueryRow(q.sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			problems = append(problems, fmt.Sprintf("%d %s", n, q.what))
		}
	}
	return problems
}

// TestBackupUnderLoadRestoresAConsistentSnapshot backs up a SQLite data
// directory while goroutines create and finalize invoices, restores it
// into a new directory, verifies the audit log there and compares every
// table with the source at the backup's moment.
func TestBackupUnderLoadRestoresAConsistentSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := audit.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := &audit.Log{Store: st, Keys: keys, Now: time.Now}
	o, cus := seedAcme(t, st)
	load := startInvoiceLoad(t, st, log, o.ID, cus.ID)
	load.waitFor(t, 50)
	before := dump(t, st.DB())
	file := filepath.Join(t.TempDir(), "bursar.backup")
	var out, errOut bytes.Buffer
	io := stdio{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if code := run(ctx, io, []string{"backup", "--data-dir", dir, "--out", file}); code != 0 {
		t.Fatalf("backup = %d: %s", code, errOut.String())
	}
	after := dump(t, st.DB())
	load.waitFor(t, load.made.Load()+20) // the load goes on after the backup
	load.end(t)
	if fi, err := os.Stat(filepath.Join(dir, "backup.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup.key: %v, want mode 0600", err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{"Globex", "ap@globex.example", "SQLite format", "work 0."} {
		if bytes.Contains(raw, []byte(clear)) {
			t.Errorf("the backup holds %q in clear", clear)
		}
	}

	// Restore refuses a directory that is not empty, and fills an empty one.
	if code := run(ctx, io, []string{"restore", file, "--data-dir", dir, "--backup-key", filepath.Join(dir, "backup.key")}); code != 2 {
		t.Errorf("restore into the live data directory = %d, want 2", code)
	}
	restoredDir := filepath.Join(t.TempDir(), "restored")
	errOut.Reset()
	if code := run(ctx, io, []string{"restore", file, "--data-dir", restoredDir, "--backup-key", filepath.Join(dir, "backup.key")}); code != 0 {
		t.Fatalf("restore = %d: %s", code, errOut.String())
	}
	for _, k := range []string{audit.HMACKeyFile, audit.SigningKeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(restoredDir, k), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if code := run(ctx, io, []string{"audit", "verify", "--data-dir", restoredDir}); code != 0 || !strings.Contains(out.String(), "audit log intact") {
		t.Fatalf("audit verify of the restored copy = %d: %s %s", code, out.String(), errOut.String())
	}

	rs, err := sqlite.Open(ctx, filepath.Join(restoredDir, "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	restored := dump(t, rs.DB())
	for _, p := range append(compareSnapshot(before, after, restored), consistency(t, rs.DB())...) {
		t.Error(p)
	}
	n := int64(len(restored["invoices"]))
	if n < int64(len(before["invoices"])) || n > int64(len(after["invoices"])) {
		t.Errorf("restored %d invoices, want between %d and %d", n, len(before["invoices"]), len(after["invoices"]))
	}
	t.Logf("restored %d invoices; %d before the backup, %d after it, %d at the end", n, len(before["invoices"]), len(after["invoices"]), load.made.Load())

	// The comparison finds a missing row, a changed row and a row from
	// after the snapshot.
	var inv string
	for k := range before["invoices"] {
		inv = k
		break
	}
	missing := clone(restored)
	delete(missing["invoices"], inv)
	changed := clone(restored)
	changed["invoices"][inv] += "x"
	extra := clone(restored)
	extra["customers"]["no|such"] = "row"
	for name, r := range map[string]map[string]table{"missing": missing, "changed": changed, "extra": extra} {
		if len(compareSnapshot(before, after, r)) != 1 {
			t.Errorf("compareSnapshot does not find the %s row", name)
		}
	}
	// And a copy that is not one moment (a counter from an older one) is
	// found inconsistent.
	if _, err := rs.DB().Exec("UPDATE number_series SET last_value = last_value - 1"); err != nil {
		t.Fatal(err)
	}
	if len(consistency(t, rs.DB())) == 0 {
		t.Error("consistency does not find invoices that the number series never counted")
	}
}

func clone(m map[string]table) map[string]table {
	out := map[string]table{}
	for k, v := range m {
		out[k] = table{}
		for r, s := range v {
			out[k][r] = s
		}
	}
	return out
}

// A backup that was changed, or opened with another key, does not restore.
func TestRestoreRefusesATamperedBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	file := filepath.Join(t.TempDir(), "b")
	var out, errOut bytes.Buffer
	io := stdio{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if code := run(ctx, io, []string{"backup", "--data-dir", dir, "--out", file}); code != 0 {
		t.Fatalf("backup = %d: %s", code, errOut.String())
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(t.TempDir(), "other.key")
	if code := run(ctx, io, []string{"backup", "--data-dir", dir, "--out", filepath.Join(t.TempDir(), "c"), "--backup-key", otherKey}); code != 0 {
		t.Fatalf("backup with another key = %d: %s", code, errOut.String())
	}
	for name, args := range map[string][]string{
		"tampered":    {"restore", bad, "--data-dir", filepath.Join(t.TempDir(), "r"), "--backup-key", filepath.Join(dir, "backup.key")},
		"another key": {"restore", file, "--data-dir", filepath.Join(t.TempDir(), "r"), "--backup-key", otherKey},
	} {
		errOut.Reset()
		if code := run(ctx, io, args); code == 0 {
			t.Errorf("restore of a %s backup succeeded", name)
		}
		if r := args[3]; func() bool { _, err := os.Stat(filepath.Join(r, "bursar.db")); return err == nil }() {
			t.Errorf("restore of a %s backup left a database", name)
		}
	}
}
