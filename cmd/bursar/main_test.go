package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	io := stdio{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code = run(context.Background(), io, args)
	return code, out.String(), errb.String()
}

// Bad configuration is one line on stderr that names the setting, and
// exit status 2.
func TestBadConfigurationNamesTheSetting(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad addr flag", nil, []string{"serve", "--data-dir", dir, "--addr", "nonsense"}, "--addr"},
		{"bad addr env", map[string]string{"BURSAR_ADDR": "8080"}, []string{"serve", "--data-dir", dir}, "--addr"},
		{"bad database url", nil, []string{"serve", "--database-url", "mysql://x"}, "--database-url"},
		{"bad database url env", map[string]string{"BURSAR_DATABASE_URL": "sqlite://x"}, []string{"serve"}, "--database-url"},
		{"bad log level", nil, []string{"serve", "--data-dir", dir, "--log-level", "loud"}, "--log-level"},
		{"bad bench store", nil, []string{"bench", "--store", "mysql"}, "--store"},
		{"bad bench clients", nil, []string{"bench", "--clients", "0"}, "--clients"},
		{"bad duration env", map[string]string{"BURSAR_SHUTDOWN_TIMEOUT": "soon"}, []string{"serve", "--data-dir", dir}, "BURSAR_SHUTDOWN_TIMEOUT"},
		{"bad waf mode", nil, []string{"serve", "--data-dir", dir, "--waf", "block"}, "--waf"},
		{"bad waf mode env", map[string]string{"BURSAR_WAF": "yes"}, []string{"serve", "--data-dir", dir}, "BURSAR_WAF"},
		{"waf paranoia too high", nil, []string{"serve", "--data-dir", dir, "--waf-paranoia", "5"}, "--waf-paranoia"},
		{"waf paranoia zero env", map[string]string{"BURSAR_WAF_PARANOIA": "0"}, []string{"serve", "--data-dir", dir}, "BURSAR_WAF_PARANOIA"},
		{"waf paranoia not a number env", map[string]string{"BURSAR_WAF_PARANOIA": "high"}, []string{"serve", "--data-dir", dir}, "BURSAR_WAF_PARANOIA"},
		{"unknown flag", nil, []string{"serve", "--colour", "blue"}, "colour"},
		{"unknown command", nil, []string{"frobnicate"}, "frobnicate"},
		{"admin init without org", nil, []string{"admin", "init", "--data-dir", dir, "--email", "a@example.com"}, "--org"},
		{"admin init bad currency", nil, []string{"admin", "init", "--data-dir", dir, "--org", "A", "--email", "a@example.com", "--currency", "EURO"}, "default_currency"},
		{"apikey without org", nil, []string{"apikey", "create", "--data-dir", dir}, "--org"},
		{"bad trusted proxies", nil, []string{"serve", "--data-dir", dir, "--trusted-proxies", "10.0.0.0/8,proxy.local"}, "--trusted-proxies"},
		{"bad trusted proxies env", map[string]string{"BURSAR_TRUSTED_PROXIES": "10.0.0.0/33"}, []string{"serve", "--data-dir", dir}, "BURSAR_TRUSTED_PROXIES"},
		{"bad rate limit", nil, []string{"serve", "--data-dir", dir, "--rate-limit-api-address", "fast"}, "--rate-limit-api-address"},
		{"bad rate limit env", map[string]string{"BURSAR_RATE_LIMIT_SIGNIN_ACCOUNT": "0/m"}, []string{"serve", "--data-dir", dir}, "BURSAR_RATE_LIMIT_SIGNIN_ACCOUNT"},
		{"bad rate limits switch env", map[string]string{"BURSAR_RATE_LIMITS": "maybe"}, []string{"serve", "--data-dir", dir}, "BURSAR_RATE_LIMITS"},
		{"small events body", nil, []string{"serve", "--data-dir", dir, "--max-events-body-bytes", "10"}, "--max-events-body-bytes"},
		{"bad read header timeout env", map[string]string{"BURSAR_READ_HEADER_TIMEOUT": "0s"}, []string{"serve", "--data-dir", dir}, "--read-header-timeout"},
		{"read header longer than read", nil, []string{"serve", "--data-dir", dir, "--read-header-timeout", "1m", "--read-timeout", "10s"}, "--read-header-timeout"},
		{"negative idle timeout", nil, []string{"serve", "--data-dir", dir, "--idle-timeout", "-1s"}, "--idle-timeout"},
		{"ip deny without cidr", nil, []string{"ip", "deny", "--data-dir", dir}, "CIDR"},
		{"ip deny bad cidr", nil, []string{"ip", "deny", "203.0.113.0/99", "--data-dir", dir}, "CIDR"},
		{"ip unknown command", nil, []string{"ip", "block", "1.2.3.4"}, "block"},
		{"ip remove without id", nil, []string{"ip", "remove"}, "ID"},
		{"zero session idle timeout", nil, []string{"serve", "--data-dir", dir, "--session-idle-timeout", "0s"}, "--session-idle-timeout"},
		{"bad session lifetime env", map[string]string{"BURSAR_SESSION_LIFETIME": "1m"}, []string{"serve", "--data-dir", dir}, "--session-lifetime"},
		{"bad smtp url env", map[string]string{"BURSAR_SMTP_URL": "http://mail.example"}, []string{"serve", "--data-dir", dir}, "BURSAR_SMTP_URL"},
		{"bad public url", nil, []string{"serve", "--data-dir", dir, "--public-url", "bill.example"}, "--public-url"},
		{"set-password without email", nil, []string{"admin", "set-password", "--data-dir", dir}, "--email"},
		{"unknown admin org", map[string]string{"BURSAR_ADMIN_ORG": "org_nope"}, []string{"serve", "--data-dir", dir, "--addr", "127.0.0.1:0"}, "--admin-org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.env, tt.args...)
			if code != 2 {
				t.Errorf("exit status = %d, want 2 (stderr %q)", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n != 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want one line naming %q", stderr, tt.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	if got, want := envName("database-url"), "BURSAR_DATABASE_URL"; got != want {
		t.Errorf("envName = %q, want %q", got, want)
	}
}
