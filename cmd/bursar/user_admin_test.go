package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/page"
)

// The operator's account commands: end-sessions ends one user's sessions
// (or everyone's with --all), disable-user ends them and refuses every
// sign-in until enable-user; each is in the audit log's system tree.
func TestAdminUserCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	admin := func(stdin string, args ...string) (int, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		io := stdio{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		code := run(ctx, io, append(append([]string{"admin"}, args...), "--data-dir", dir))
		return code, errOut.String()
	}
	const pw = "a long passphrase nobody guesses 7"
	if code, msg := admin("", "init", "--org", "Acme GmbH", "--email", "owner@example.com", "--mfa-required=false"); code != 0 {
		t.Fatalf("admin init = %d: %s", code, msg)
	}
	if code, msg := admin(pw+"\n", "set-password", "--email", "owner@example.com"); code != 0 {
		t.Fatalf("admin set-password = %d: %s", code, msg)
	}
	st, err := openStore(ctx, storeFlags{dataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := &auth.Identity{Store: st, Now: time.Now}
	signIn := func() (auth.Secret, error) {
		res, _, err := id.Login(ctx, "owner@example.com", pw, "192.0.2.1", "test")
		if err != nil {
			return "", err
		}
		return res.Secret, nil
	}
	mustSignIn := func() auth.Secret {
		t.Helper()
		s, err := signIn()
		if err != nil {
			t.Fatalf("sign in: %v", err)
		}
		return s
	}
	live := func(s auth.Secret) bool {
		_, _, err := id.Resume(ctx, string(s))
		return err == nil
	}

	a, b := mustSignIn(), mustSignIn()
	if code, msg := admin("", "end-sessions", "--email", "Owner@Example.com"); code != 0 {
		t.Fatalf("end-sessions = %d: %s", code, msg)
	}
	if live(a) || live(b) {
		t.Error("a session outlived end-sessions")
	}

	c := mustSignIn()
	if code, msg := admin("", "disable-user", "--email", "owner@example.com"); code != 0 {
		t.Fatalf("disable-user = %d: %s", code, msg)
	}
	if live(c) {
		t.Error("a session outlived disable-user")
	}
	if _, err := signIn(); err == nil {
		t.Error("a disabled user signed in")
	}
	if code, msg := admin("", "enable-user", "--email", "owner@example.com"); code != 0 {
		t.Fatalf("enable-user = %d: %s", code, msg)
	}
	d := mustSignIn()
	if code, msg := admin("", "end-sessions", "--all"); code != 0 {
		t.Fatalf("end-sessions --all = %d: %s", code, msg)
	}
	if live(d) {
		t.Error("a session outlived end-sessions --all")
	}

	for _, args := range [][]string{{"end-sessions"}, {"end-sessions", "--all", "--email", "owner@example.com"}, {"disable-user"}} {
		if code, _ := admin("", args...); code != 2 {
			t.Errorf("admin %v = %d, want 2", args, code)
		}
	}
	entries, err := st.ListAuditEntries(ctx, audit.Filter{Tree: audit.SystemTree, Params: page.Params{Limit: page.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Entry.Action)
	}
	for _, want := range []string{"session.revoked_all", "user.disabled", "user.enabled", "session.revoked_everyone"} {
		if !slices.Contains(actions, want) {
			t.Errorf("the system tree has %v, want a %s entry", actions, want)
		}
	}
}
