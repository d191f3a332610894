package audit_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar/internal/audit"
)

func sample() *audit.Entry {
	return &audit.Entry{Tree: "org_1", Index: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.FixedZone("CET", 3600)),
		Actor: audit.Actor{Type: audit.ActorAPIKey, ID: "key_1"}, Action: "invoice.finalized", ObjectType: "invoice", ObjectID: "inv_1",
		Fields:      []audit.Field{{Name: "totals", Value: json.RawMessage(`{ "due": "1.00", "b": ["<&>"] }`)}, {Name: "notes", Hash: "hmac-sha256:00"}},
		AddressHash: "hmac-sha256:ab", RequestID: "req_1"}
}

// The leaf format is fixed: this is what docs/audit.md documents and what
// other tools reproduce. A change here breaks every existing log.
func TestLeafIsCanonical(t *testing.T) {
	got, err := sample().Leaf()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"tree":"org_1","index":7,"time":"2026-01-02T02:04:05.600000Z","actor":{"type":"api_key","id":"key_1"},` +
		`"action":"invoice.finalized","object_type":"invoice","object_id":"inv_1",` +
		`"fields":[{"name":"totals","value":{"b":["<&>"],"due":"1.00"}},{"name":"notes","hash":"hmac-sha256:00"}],` +
		`"address_hash":"hmac-sha256:ab","request_id":"req_1"}`
	if string(got) != want {
		t.Errorf("leaf =\n%s\nwant\n%s", got, want)
	}
	e, err := audit.Parse(got)
	if err != nil {
		t.Fatalf("Parse(Leaf()) = %v", err)
	}
	again, _ := e.Leaf()
	if !bytes.Equal(again, got) {
		t.Errorf("Leaf(Parse(leaf)) = %s, want %s", again, got)
	}
	empty, _ := (&audit.Entry{Tree: "t", Time: time.Unix(0, 0)}).Leaf()
	if !bytes.Contains(empty, []byte(`"fields":[]`)) {
		t.Errorf("an entry without fields encodes as %s, want fields []", empty)
	}
}

func TestParseRefusesNonCanonicalLeaves(t *testing.T) {
	leaf, _ := sample().Leaf()
	for name, bad := range map[string]string{
		"white space":   strings.Replace(string(leaf), `"v":1,`, `"v": 1,`, 1),
		"member order":  strings.Replace(string(leaf), `{"v":1,"tree":"org_1",`, `{"tree":"org_1","v":1,`, 1),
		"unknown field": strings.Replace(string(leaf), `{"v":1,`, `{"v":1,"x":2,`, 1),
		"version":       strings.Replace(string(leaf), `{"v":1,`, `{"v":2,`, 1),
		"time zone":     strings.Replace(string(leaf), `02:04:05.600000Z`, `03:04:05.600000+01:00`, 1),
	} {
		if _, err := audit.Parse([]byte(bad)); err == nil {
			t.Errorf("%s: Parse accepted %s", name, bad)
		}
	}
}

func TestEntryID(t *testing.T) {
	if id := audit.EntryID(12); id != "aud_12" {
		t.Errorf("EntryID(12) = %s", id)
	}
	for _, bad := range []string{"aud_", "aud_-1", "aud_01", "inv_1", "aud_1x"} {
		if _, err := audit.ParseEntryID(bad); err == nil {
			t.Errorf("ParseEntryID(%q) accepted", bad)
		}
	}
}

func TestKeysAreCreatedPrivateAndReused(t *testing.T) {
	dir := t.TempDir()
	k1, err := audit.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{audit.HMACKeyFile, audit.SigningKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v, want 0600", f, err, fi.Mode().Perm())
		}
	}
	k2, err := audit.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.VerifierKey != k2.VerifierKey || k1.Hasher.HashPersonal("t", []byte("x")) != k2.Hasher.HashPersonal("t", []byte("x")) {
		t.Error("a second start made new keys")
	}
	if !strings.HasPrefix(k1.VerifierKey, audit.SignerName+"+") {
		t.Errorf("verifier key %q does not name %s", k1.VerifierKey, audit.SignerName)
	}
	if err := os.Chmod(filepath.Join(dir, audit.SigningKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.LoadOrCreateKeys(dir); err == nil || !strings.Contains(err.Error(), "others may read it") {
		t.Errorf("a world-readable signing key was accepted: %v", err)
	}
}

func TestHashPersonalIsKeyedAndBoundToTheTree(t *testing.T) {
	a, b := audit.HMACKey(strings.Repeat("a", 32)), audit.HMACKey(strings.Repeat("b", 32))
	v := []byte(`"jane@example.com"`)
	switch {
	case a.HashPersonal("org_1", v) == b.HashPersonal("org_1", v):
		t.Error("two keys give the same hash")
	case a.HashPersonal("org_1", v) == a.HashPersonal("org_2", v):
		t.Error("two organizations give the same hash: their logs could be joined")
	case a.HashPersonal("org_1", v) != audit.HMACKey(strings.Repeat("a", 32)).HashPersonal("org_1", v):
		t.Error("the hash is not deterministic")
	case !strings.HasPrefix(a.HashPersonal("org_1", v), "hmac-sha256:"):
		t.Error("the hash does not name its algorithm")
	}
}

func TestCheckpointText(t *testing.T) {
	var h [32]byte
	h[0] = 1
	text := audit.CheckpointText("org_1", 42, h)
	if want := "bursar-audit/org_1\n42\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"; text != want {
		t.Errorf("CheckpointText = %q, want %q", text, want)
	}
	tree, size, got, err := audit.ParseCheckpointText(text)
	if err != nil || tree != "org_1" || size != 42 || got != h {
		t.Errorf("ParseCheckpointText = %s %d %v %v", tree, size, got, err)
	}
	for _, bad := range []string{"", "x/org\n1\nAA==\n", "bursar-audit/org\n-1\n" + text[len(text)-46:], text + "extra\n"} {
		if _, _, _, err := audit.ParseCheckpointText(bad); err == nil {
			t.Errorf("ParseCheckpointText(%q) accepted", bad)
		}
	}
}
