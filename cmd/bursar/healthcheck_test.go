package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bursar/internal/server"
)

// The healthcheck command is what the container's HEALTHCHECK runs: exit 0
// against a live server's /healthz, 1 when the server is down or unhealthy,
// 2 for a bad flag.
func TestHealthcheck(t *testing.T) {
	ctx := context.Background()
	st, err := openStore(ctx, storeFlags{dataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := server.New(server.Config{Addr: "127.0.0.1:0"}, st, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	live := httptest.NewServer(srv.Handler())
	t.Cleanup(live.Close)

	unhealthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(unhealthy.Close)

	// A port that was just free and is closed again: nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/healthz"
	ln.Close()

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"healthy", nil, []string{"healthcheck", "--url", live.URL + "/healthz"}, 0, ""},
		{"healthy from env", map[string]string{"BURSAR_URL": live.URL + "/healthz"}, []string{"healthcheck"}, 0, ""},
		{"down", nil, []string{"healthcheck", "--url", down, "--timeout", "2s"}, 1, "healthcheck"},
		{"unhealthy", nil, []string{"healthcheck", "--url", unhealthy.URL + "/healthz"}, 1, "503"},
		{"not found", nil, []string{"healthcheck", "--url", live.URL + "/nowhere"}, 1, "404"},
		{"bad url", nil, []string{"healthcheck", "--url", "ftp://example.com/"}, 2, "--url"},
		{"bad timeout", nil, []string{"healthcheck", "--timeout", "0s"}, 2, "--timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.env, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit status = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if tt.wantErr == "" && stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr, tt.wantErr)
			}
		})
	}
}
