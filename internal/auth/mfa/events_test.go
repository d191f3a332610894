package mfa_test

import (
	"bytes"
	"testing"

	"bursar/internal/audit"
	"bursar/internal/auth/mfa"
)

// TestEventEntry: an event becomes an audit entry whose leaf carries the
// factor and reason but the passkey's name only as a keyed hash.
func TestEventEntry(t *testing.T) {
	h := audit.HMACKey("test-key-0123456789abcdef")
	ev := mfa.Event{Action: mfa.ActionEnrolled, UserID: "usr_1", Factor: mfa.FactorPasskey, PasskeyID: "pkey_1", Name: "Ada's iPhone"}
	e := ev.Entry(h, "org_1")
	leaf, err := e.Leaf()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(leaf, []byte("iPhone")) {
		t.Fatalf("leaf holds the passkey's name in clear: %s", leaf)
	}
	if !bytes.Contains(leaf, []byte(h.HashPersonal("org_1", []byte("Ada's iPhone")))) {
		t.Fatalf("leaf lacks the name's keyed hash: %s", leaf)
	}
	for _, want := range []string{`"action":"mfa.enrolled"`, `"factor"`, `"passkey"`, `"object_id":"usr_1"`, `"actor":{"type":"user","id":"usr_1"}`} {
		if !bytes.Contains(leaf, []byte(want)) {
			t.Errorf("leaf lacks %s: %s", want, leaf)
		}
	}
	used := mfa.Event{Action: mfa.ActionRecoveryCodeUsed, UserID: "usr_1", Factor: mfa.FactorRecoveryCode, Remaining: 0}.Entry(h, audit.SystemTree)
	leaf, err = used.Leaf()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(leaf, []byte(`{"name":"remaining","value":0}`)) {
		t.Errorf("leaf lacks the remaining count: %s", leaf)
	}
}
