package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad TLS setting is one line on stderr that names it, and exit 2,
// before anything listens.
func TestBadTLSConfigurationNamesTheSetting(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := []string{"serve", "--data-dir", dir, "--addr", "127.0.0.1:0"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"cert without key", nil, []string{"--tls-cert", junk}, "--tls-key"},
		{"key without cert env", map[string]string{"BURSAR_TLS_KEY": junk}, nil, "--tls-cert"},
		{"cert that does not load", nil, []string{"--tls-cert", junk, "--tls-key", junk}, "BURSAR_TLS_CERT"},
		{"missing cert file env", map[string]string{"BURSAR_TLS_CERT": filepath.Join(dir, "none.pem"), "BURSAR_TLS_KEY": junk}, nil, "--tls-cert"},
		{"cert and acme", nil, []string{"--tls-cert", junk, "--tls-key", junk, "--acme-host", "bursar.example.com"}, "--acme-host"},
		{"acme email without host", nil, []string{"--acme-email", "ops@example.com"}, "--acme-host"},
		{"acme host not a name", nil, []string{"--acme-host", "localhost"}, "--acme-host"},
		{"acme directory over http env", map[string]string{"BURSAR_ACME_DIRECTORY": "http://ca.example/dir"}, []string{"--acme-host", "bursar.example.com"}, "--acme-directory"},
		{"redirect without TLS", nil, []string{"--http-redirect-addr", ":80"}, "--http-redirect-addr"},
		{"redirect not an address env", map[string]string{"BURSAR_HTTP_REDIRECT_ADDR": "80"}, []string{"--acme-host", "bursar.example.com"}, "BURSAR_HTTP_REDIRECT_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.env, append(append([]string{}, serve...), tt.args...)...)
			if code != 2 || stdout != "" {
				t.Errorf("exit status %d, stdout %q; want 2 and nothing", code, stdout)
			}
			if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n != 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want one line naming %q", stderr, tt.want)
			}
		})
	}
}
