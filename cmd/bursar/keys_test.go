package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bursar/internal/org"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
	"bursar/internal/vault"
)

// openWithKEKFile opens the data directory's database with its key file,
// as the commands do.
func openWithKEKFile(t *testing.T, dir string) *sqlstore.Store {
	t.Helper()
	kek, err := vault.LoadOrCreateKEKFile(filepath.Join(dir, vault.KEKFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "bursar.db"), sqlstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestKeysRotate runs bursar keys rotate, for the data keys and for the
// key-encryption key, on a database made by admin init, and reads the
// organization back after each.
func TestKeysRotate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if code, _, stderr := runCmd(t, nil, "admin", "init", "--data-dir", dir, "--org", "Keys GmbH", "--email", "owner@keys.example", "--country", "DE"); code != 0 {
		t.Fatalf("admin init: %d %s", code, stderr)
	}
	fi, err := os.Stat(filepath.Join(dir, vault.KEKFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file after first start: %v, %v; want mode 0600", fi, err)
	}
	st := openWithKEKFile(t, dir)
	orgs, err := st.Vault().Orgs(ctx)
	if err != nil || len(orgs) == 0 {
		t.Fatalf("organizations with keys: %v, %v", orgs, err)
	}
	var o *org.Organization
	for _, id := range orgs {
		if strings.HasPrefix(id, "org_") {
			o, err = st.GetOrganization(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if o == nil || o.Address.Country != "DE" {
		t.Fatalf("organization = %+v", o)
	}
	before, err := st.Vault().PrimaryKeyID(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, stdout, stderr := runCmd(t, nil, "keys", "rotate", "--data-dir", dir, "--wait", "0")
	if code != 0 || !strings.Contains(stdout, o.ID+": new primary data key") {
		t.Fatalf("keys rotate: %d\n%s\n%s", code, stdout, stderr)
	}
	st = openWithKEKFile(t, dir)
	after, err := st.Vault().PrimaryKeyID(ctx, o.ID)
	if err != nil || after == before {
		t.Fatalf("primary key after rotation %d (%v), before %d", after, err, before)
	}
	ids, err := st.SealedKeyIDs(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range ids {
		if id != after {
			t.Errorf("%d values under key %d after keys rotate, want all under %d", n, id, after)
		}
	}
	// The old keys seal nothing any more: they are retired, the
	// organization's and its owner's alike.
	if keys, err := st.Vault().KeyIDs(ctx, o.ID); err != nil || len(keys) != 1 || keys[0] != after {
		t.Errorf("keys of %s after keys rotate: %v, %v; want only %d", o.ID, keys, err, after)
	}
	if !strings.Contains(stdout, "retired 3 data keys") { // the organization's, its owner's, the installation's
		t.Errorf("keys rotate did not retire the 3 old keys:\n%s", stdout)
	}
	if u, err := st.GetUserByEmail(ctx, "OWNER@keys.example"); err != nil || u.Email != "owner@keys.example" {
		t.Errorf("owner by email after keys rotate: %+v, %v", u, err)
	}
	st.Close()

	if code, stdout, stderr := runCmd(t, nil, "keys", "rotate", "--kek", "--data-dir", dir); code != 0 {
		t.Fatalf("keys rotate --kek: %d\n%s\n%s", code, stdout, stderr)
	}
	if fi, err := os.Stat(filepath.Join(dir, vault.KEKFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file after rotation: %v, %v; want mode 0600", fi, err)
	}
	st = openWithKEKFile(t, dir)
	got, err := st.GetOrganization(ctx, o.ID)
	if err != nil || got.Email != o.Email || got.Address != o.Address {
		t.Fatalf("organization after KEK rotation = %+v, %v", got, err)
	}

	if code, _, stderr := runCmd(t, nil, "keys", "rotate", "--data-dir", dir, "--wait", "-1s"); code != 2 || !strings.Contains(stderr, "--wait") {
		t.Fatalf("keys rotate --wait -1s: %d %s", code, stderr)
	}
}
