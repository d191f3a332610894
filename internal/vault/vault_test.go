package vault_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar/internal/vault"
)

func newVault(t *testing.T, opts ...vault.Option) (*vault.Vault, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), vault.KEKFile)
	kek, err := vault.LoadOrCreateKEKFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return vault.New(kek, vault.NewMemoryKeyStore(), opts...), path
}

func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	ct, err := v.Seal(ctx, "org_a", "customers", "email", "cus_1", []byte("ada@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("ada@example.com")) {
		t.Fatal("ciphertext holds the plaintext")
	}
	id, ok := vault.KeyID(ct)
	primary, err := v.PrimaryKeyID(ctx, "org_a")
	if err != nil || !ok || id != primary {
		t.Fatalf("KeyID = %d, %v; want primary %d (%v)", id, ok, primary, err)
	}
	pt, err := v.Open(ctx, "org_a", "customers", "email", "cus_1", ct)
	if err != nil || string(pt) != "ada@example.com" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
}

// TestOpenRefusesAnotherPlace proves that the associated data binds a
// ciphertext to its organization, table, column and row.
func TestOpenRefusesAnotherPlace(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	ct, err := v.Seal(ctx, "org_a", "customers", "email", "cus_1", []byte("ada@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ org, table, column, row string }{
		{"org_a", "customers", "email", "cus_2"},
		{"org_a", "customers", "notes", "cus_1"},
		{"org_a", "organizations", "email", "cus_1"},
		{"org_b", "customers", "email", "cus_1"},
		// Length prefixes keep shifted boundaries apart.
		{"org_a", "customers", "emai", "lcus_1"},
	} {
		if _, err := v.Open(ctx, tc.org, tc.table, tc.column, tc.row, ct); !errors.Is(err, vault.ErrCannotOpen) {
			t.Errorf("Open at %v: err = %v, want ErrCannotOpen", tc, err)
		}
	}
	bad := bytes.Clone(ct)
	bad[len(bad)-1] ^= 1
	if _, err := v.Open(ctx, "org_a", "customers", "email", "cus_1", bad); !errors.Is(err, vault.ErrCannotOpen) {
		t.Errorf("Open of a tampered ciphertext: err = %v, want ErrCannotOpen", err)
	}
}

func TestSealTextAndLegacyText(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	s, err := v.SealText(ctx, "org_a", "customers", "tax_id", "cus_1", "DE123456789")
	if err != nil || !vault.IsSealedText(s) || strings.Contains(s, "DE123456789") {
		t.Fatalf("SealText = %q, %v", s, err)
	}
	got, err := v.OpenText(ctx, "org_a", "customers", "tax_id", "cus_1", s)
	if err != nil || got != "DE123456789" {
		t.Fatalf("OpenText = %q, %v", got, err)
	}
	if e, err := v.SealText(ctx, "org_a", "customers", "tax_id", "cus_1", ""); e != "" || err != nil {
		t.Fatalf("SealText of empty = %q, %v; want empty", e, err)
	}
	// Text stored before sealing existed reads as it is.
	if got, err := v.OpenText(ctx, "org_a", "customers", "tax_id", "cus_1", "plain"); got != "plain" || err != nil {
		t.Fatalf("OpenText of legacy text = %q, %v", got, err)
	}
	if ok, err := v.Current(ctx, "org_a", "plain"); ok || err != nil {
		t.Fatalf("Current of legacy text = %v, %v; want false", ok, err)
	}
	if ok, err := v.Current(ctx, "org_a", s); !ok || err != nil {
		t.Fatalf("Current of fresh value = %v, %v; want true", ok, err)
	}
}

func TestRotateKeepsOldValuesOpen(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	old, err := v.SealText(ctx, "org_a", "customers", "notes", "cus_1", "before")
	if err != nil {
		t.Fatal(err)
	}
	oldID, _ := vault.TextKeyID(old)
	newID, err := v.Rotate(ctx, "org_a")
	if err != nil {
		t.Fatal(err)
	}
	if newID == oldID {
		t.Fatalf("Rotate kept key %d primary", oldID)
	}
	fresh, err := v.SealText(ctx, "org_a", "customers", "notes", "cus_1", "after")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := vault.TextKeyID(fresh); id != newID {
		t.Fatalf("sealed after rotation with key %d, want %d", id, newID)
	}
	if ok, _ := v.Current(ctx, "org_a", old); ok {
		t.Fatal("value of the old key reported current")
	}
	for s, want := range map[string]string{old: "before", fresh: "after"} {
		if got, err := v.OpenText(ctx, "org_a", "customers", "notes", "cus_1", s); got != want || err != nil {
			t.Fatalf("OpenText = %q, %v; want %q", got, err, want)
		}
	}
}

// TestRotationSeenByAnotherReplica: a replica that cached the keyset
// before another one rotated opens the new key's values at once.
func TestRotationSeenByAnotherReplica(t *testing.T) {
	ctx := context.Background()
	kek, err := vault.LoadOrCreateKEKFile(filepath.Join(t.TempDir(), vault.KEKFile))
	if err != nil {
		t.Fatal(err)
	}
	keys := vault.NewMemoryKeyStore()
	a, b := vault.New(kek, keys), vault.New(kek, keys)
	if _, err := b.SealText(ctx, "org_a", "t", "c", "r", "warm the cache"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rotate(ctx, "org_a"); err != nil {
		t.Fatal(err)
	}
	s, err := a.SealText(ctx, "org_a", "t", "c", "r", "new key")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.OpenText(ctx, "org_a", "t", "c", "r", s); got != "new key" || err != nil {
		t.Fatalf("other replica OpenText = %q, %v", got, err)
	}
}

func TestCacheExpires(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(0, 0)
	kek, err := vault.LoadOrCreateKEKFile(filepath.Join(t.TempDir(), vault.KEKFile))
	if err != nil {
		t.Fatal(err)
	}
	keys := vault.NewMemoryKeyStore()
	a := vault.New(kek, keys, vault.WithClock(func() time.Time { return now }))
	b := vault.New(kek, keys)
	// The first use creates the keys (not cached: they might be rolled
	// back with the caller's transaction); the second caches them.
	if _, err := a.PrimaryKeyID(ctx, "org_a"); err != nil {
		t.Fatal(err)
	}
	first, err := a.PrimaryKeyID(ctx, "org_a")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := b.Rotate(ctx, "org_a")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := a.PrimaryKeyID(ctx, "org_a"); got != first {
		t.Fatalf("within the TTL the cached primary is %d, want %d", got, first)
	}
	now = now.Add(vault.DefaultCacheTTL)
	if got, _ := a.PrimaryKeyID(ctx, "org_a"); got != rotated {
		t.Fatalf("after the TTL the primary is %d, want %d", got, rotated)
	}
}

func TestBlindIndex(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	a, err := v.BlindIndex(ctx, "org_a", "customers", "email", vault.NormalizeEmail(" Ada@Example.com "))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := v.BlindIndex(ctx, "org_a", "customers", "email", vault.NormalizeEmail("ada@example.com"))
	if a != b || a == "" || strings.Contains(a, "ada") {
		t.Fatalf("BlindIndex = %q and %q, want equal, non-empty, opaque", a, b)
	}
	other, _ := v.BlindIndex(ctx, "org_b", "customers", "email", "ada@example.com")
	col, _ := v.BlindIndex(ctx, "org_a", "customers", "tax_id", "ada@example.com")
	if other == a || col == a {
		t.Fatal("blind index equal across organizations or columns")
	}
	// Rotation of the data keys leaves the index as it is.
	if _, err := v.Rotate(ctx, "org_a"); err != nil {
		t.Fatal(err)
	}
	if c, _ := v.BlindIndex(ctx, "org_a", "customers", "email", "ada@example.com"); c != a {
		t.Fatal("blind index changed with the data key rotation")
	}
	if got, want := vault.NormalizeTaxID(" de 123.456-789 "), "DE123456789"; got != want {
		t.Fatalf("NormalizeTaxID = %q, want %q", got, want)
	}
}

func TestKEKFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, vault.KEKFile)
	kek, err := vault.LoadOrCreateKEKFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("KEK file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	keys := vault.NewMemoryKeyStore()
	v := vault.New(kek, keys)
	s, err := v.SealText(ctx, "org_a", "t", "c", "r", "secret")
	if err != nil {
		t.Fatal(err)
	}
	// The same file read again opens what the first process sealed.
	kek2, err := vault.LoadOrCreateKEKFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := vault.New(kek2, keys).OpenText(ctx, "org_a", "t", "c", "r", s); got != "secret" || err != nil {
		t.Fatalf("OpenText with the file read again = %q, %v", got, err)
	}
	// Another KEK cannot unwrap the data keys.
	other, err := vault.LoadOrCreateKEKFile(filepath.Join(dir, "other.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.New(other, keys).OpenText(ctx, "org_a", "t", "c", "r", s); err == nil {
		t.Fatal("a foreign KEK opened the value")
	}
	// KEK rotation: the old wrap unwraps with the rotated file, Rewrap
	// moves it to the new primary, and values stay readable.
	if _, err := vault.RotateKEKFile(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("rotated KEK file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	kek3, err := vault.LoadOrCreateKEKFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v3 := vault.New(kek3, keys)
	if err := v3.Rewrap(ctx, "org_a"); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.New(kek, keys).OpenText(ctx, "org_a", "t", "c", "r", s); err == nil {
		t.Fatal("the KEK before rotation still unwraps rewrapped keys")
	}
	if got, err := v3.OpenText(ctx, "org_a", "t", "c", "r", s); got != "secret" || err != nil {
		t.Fatalf("OpenText after KEK rotation = %q, %v", got, err)
	}
	// A key file others may read is refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.LoadOrCreateKEKFile(path); err == nil {
		t.Fatal("a world-readable KEK file was accepted")
	}
}
