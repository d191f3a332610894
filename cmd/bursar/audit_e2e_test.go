package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar/internal/store/sqlite"
)

// runBinary runs the binary and returns its exit status and output, where
// bursar fails the test on a non-zero status.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatalf("bursar %s: %v", strings.Join(args, " "), err)
	}
	return 0, out.String(), errb.String()
}

// TestAuditThroughTheBinary writes history through the served API, then
// verifies it with the real binary, exports it (to a file and as syslog),
// verifies the export offline, and finds the tampering of an attacker who
// edits the database with the triggers dropped.
func TestAuditThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, "--data-dir", dir)
	key, _ := bursar(t, "admin", "init", "--data-dir", dir, "--org", "Acme GmbH", "--email", "owner@example.com", "--currency", "EUR", "--country", "DE")
	c := client{t: t, base: p.base + "/v1", key: strings.TrimSpace(key)}
	orgID := c.do("GET", "/organization", nil, 200)["id"].(string)
	for _, name := range []string{"Globex", "Initech", "Umbrella"} {
		c.do("POST", "/customers", map[string]any{"name": name, "email": strings.ToLower(name) + "@example.com"}, 201)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("serve: %v", err)
	}

	for _, f := range []string{"audit-hmac.key", "audit-signing.key"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want mode 0600", f, err, fi.Mode().Perm())
		}
	}
	if code, out, errOut := runBinary(t, "audit", "verify", "--data-dir", dir); code != 0 || !strings.Contains(out, "audit log intact") {
		t.Fatalf("verify = %d %q %q, want 0 and intact", code, out, errOut)
	}
	vkey, _ := bursar(t, "audit", "key", "--data-dir", dir)
	vkey = strings.TrimSpace(vkey)
	cp, _ := bursar(t, "audit", "checkpoint", "--data-dir", dir, "--org", orgID)
	export, _ := bursar(t, "audit", "export", "--data-dir", dir, "--org", orgID, "--since", "2000-01-01T00:00:00Z")
	// admin init's organization, its MFA rule and its key, the key's first
	// use, then the three customers.
	if n := strings.Count(export, "\n"); n != 7 {
		t.Fatalf("export has %d lines, want 7:\n%s", n, export)
	}
	if !strings.Contains(export, `"actor":{"type":"system","id":"cli:admin init"},"action":"organization.created"`) {
		t.Errorf("the export does not start with admin init's changes:\n%s", export)
	}
	if strings.Contains(export, "globex@example.com") {
		t.Errorf("the export holds an email in clear:\n%s", export)
	}
	cpFile, logFile := filepath.Join(t.TempDir(), "cp"), filepath.Join(t.TempDir(), "log")
	auditMust(t, os.WriteFile(cpFile, []byte(cp), 0o600))
	auditMust(t, os.WriteFile(logFile, []byte(export), 0o600))
	if code, out, errOut := runBinary(t, "audit", "verify-export", "--key", vkey, "--checkpoint", cpFile, "--log", logFile); code != 0 {
		t.Fatalf("verify-export = %d %q %q, want 0", code, out, errOut)
	}
	lines := strings.SplitAfter(export, "\n")
	lines[4] = strings.Replace(lines[4], "customer.created", "customer.deleted", 1)
	auditMust(t, os.WriteFile(logFile, []byte(strings.Join(lines, "")), 0o600))
	if code, _, errOut := runBinary(t, "audit", "verify-export", "--key", vkey, "--checkpoint", cpFile, "--log", logFile); code != 1 || !strings.Contains(errOut, "first bad index 0") {
		t.Errorf("verify-export of an edited export = %d %q, want 1 naming the first bad index", code, errOut)
	}

	// Syslog forwarding, to a local UDP listener.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	auditMust(t, err)
	defer pc.Close()
	bursar(t, "audit", "export", "--data-dir", dir, "--org", orgID, "--syslog", "udp://"+pc.LocalAddr().String())
	buf := make([]byte, 64<<10)
	lines = strings.SplitAfter(export, "\n")
	for i := range 7 {
		auditMust(t, pc.SetReadDeadline(time.Now().Add(10*time.Second)))
		n, _, err := pc.ReadFrom(buf)
		auditMust(t, err)
		msg := string(buf[:n])
		if !strings.HasPrefix(msg, "<110>1 ") || !strings.HasSuffix(msg, strings.TrimSuffix(lines[i], "\n")) {
			t.Errorf("syslog message %d = %q, want RFC 5424 at priority 110 carrying the leaf", i, msg)
		}
	}

	// An attacker with SQL access drops the triggers and edits an entry.
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "bursar.db"))
	auditMust(t, err)
	for _, q := range []string{"DROP TRIGGER audit_entries_no_update",
		"UPDATE audit_entries SET leaf = REPLACE(leaf, 'customer.created', 'customer.deleted') WHERE idx = 4 AND tree = '" + orgID + "'"} {
		if _, err := st.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, out, errOut := runBinary(t, "audit", "verify", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "first bad index 4 of tree "+orgID) {
		t.Errorf("verify after tampering = %d %q %q, want 1 naming index 4", code, out, errOut)
	}
}

func auditMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
