package vault_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"bursar/internal/vault"
)

// TestRetire proves that retirement deletes the keys that seal nothing,
// keeps the primary and every key still in use, waits out the settle time
// after a change, and retires nothing if the keys change meanwhile.
func TestRetire(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	v, _ := newVault(t, vault.WithClock(func() time.Time { return now }), vault.WithCacheTTL(0))
	first, err := v.PrimaryKeyID(ctx, "org_a")
	if err != nil {
		t.Fatal(err)
	}
	old, err := v.Seal(ctx, "org_a", "customers", "email", "cus_1", []byte("ada@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := v.Rotate(ctx, "org_a")
	if err != nil {
		t.Fatal(err)
	}
	third, err := v.Rotate(ctx, "org_a")
	if err != nil {
		t.Fatal(err)
	}
	inUse := map[uint32]int{first: 1} // the value sealed above; second seals nothing
	count := func(context.Context) (map[uint32]int, error) { return inUse, nil }

	if _, err := v.Retire(ctx, "org_a", time.Minute, count); !errors.Is(err, vault.ErrKeysRecent) {
		t.Fatalf("Retire right after a rotation: err = %v, want ErrKeysRecent", err)
	}
	now = now.Add(time.Minute)
	retired, err := v.Retire(ctx, "org_a", time.Minute, count)
	if err != nil || !slices.Equal(retired, []uint32{second}) {
		t.Fatalf("Retire = %v, %v; want only %d (unused, not primary)", retired, err, second)
	}
	ids, err := v.KeyIDs(ctx, "org_a")
	if want := []uint32{first, third}; err != nil || !slices.Equal(ids, sorted(want)) {
		t.Fatalf("keys after retirement = %v, %v; want %v", ids, err, sorted(want))
	}
	if pt, err := v.Open(ctx, "org_a", "customers", "email", "cus_1", old); err != nil || string(pt) != "ada@example.com" {
		t.Fatalf("a value of a key in use after retirement: %q, %v", pt, err)
	}

	// The value is sealed again with the primary: its old key goes too, and
	// what it sealed no longer opens.
	inUse = map[uint32]int{third: 1}
	if _, err := v.Retire(ctx, "org_a", 0, count); err != nil {
		t.Fatal(err)
	}
	if ids, _ := v.KeyIDs(ctx, "org_a"); !slices.Equal(ids, []uint32{third}) {
		t.Fatalf("keys = %v, want only the primary %d", ids, third)
	}
	if _, err := v.Open(ctx, "org_a", "customers", "email", "cus_1", old); !errors.Is(err, vault.ErrCannotOpen) {
		t.Fatalf("a value of a retired key: err = %v, want ErrCannotOpen", err)
	}
}

// TestRetireRacesRotation rotates while the values are being counted: the
// key that was primary when counting began may have sealed values since,
// so nothing is retired.
func TestRetireRacesRotation(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t, vault.WithCacheTTL(0))
	first, err := v.PrimaryKeyID(ctx, "org_a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Rotate(ctx, "org_a"); err != nil {
		t.Fatal(err)
	}
	_, err = v.Retire(ctx, "org_a", 0, func(ctx context.Context) (map[uint32]int, error) {
		if _, err := v.Rotate(ctx, "org_a"); err != nil {
			return nil, err
		}
		return map[uint32]int{}, nil // counted before the rotation: nothing
	})
	if !errors.Is(err, vault.ErrKeysChanged) {
		t.Fatalf("Retire across a rotation: err = %v, want ErrKeysChanged", err)
	}
	if ids, _ := v.KeyIDs(ctx, "org_a"); !slices.Contains(ids, first) || len(ids) != 3 {
		t.Fatalf("keys = %v, want the first %d and both rotated ones", ids, first)
	}
}

func sorted(ids []uint32) []uint32 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
