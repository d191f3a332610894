package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar/internal/guard"
	"bursar/internal/server"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type guardProblem struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
}

func serve(t *testing.T, h http.Handler, method, path, remote string, body io.Reader, header http.Header) (*httptest.ResponseRecorder, guardProblem) {
	t.Helper()
	r := httptest.NewRequest(method, path, body)
	r.RemoteAddr = remote
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var p guardProblem
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s %s: problem body %q: %v", method, path, w.Body, err)
		}
	}
	return w, p
}

// Through the whole server: a denied address gets 403 address_denied with
// the request id, whatever address it claims in X-Forwarded-For unless a
// trusted proxy says so; the health checks still answer it.
func TestServerRefusesDeniedAddresses(t *testing.T) {
	st := openStore(t)
	tp, _ := guard.ParseTrustedProxies("10.0.0.1")
	srv := server.New(server.Config{Guard: server.GuardConfig{TrustedProxies: tp}}, st, slog.New(slog.DiscardHandler), time.Now)
	rules := &guard.IPRules{Store: st}
	if _, err := rules.Add(context.Background(), guard.Deny, "203.0.113.0/24", "test", "test", nil); err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	w, p := serve(t, h, "GET", "/v1/openapi.json", "203.0.113.9:4000", nil, http.Header{"X-Forwarded-For": {"198.51.100.1"}})
	if w.Code != 403 || p.Code != "address_denied" || p.RequestID == "" || p.RequestID != w.Header().Get("X-Request-Id") {
		t.Errorf("denied address: %d %+v, want 403 address_denied with the request id", w.Code, p)
	}
	if w, _ := serve(t, h, "GET", "/healthz", "203.0.113.9:4000", nil, nil); w.Code != 200 {
		t.Errorf("/healthz from a denied address: %d, want 200", w.Code)
	}
	if w, _ := serve(t, h, "GET", "/v1/openapi.json", "198.51.100.1:4000", nil, nil); w.Code != 200 {
		t.Errorf("an address that is not denied: %d, want 200", w.Code)
	}
	// Behind the trusted proxy, the forwarded address is the client's.
	w, p = serve(t, h, "GET", "/v1/openapi.json", "10.0.0.1:4000", nil, http.Header{"X-Forwarded-For": {"203.0.113.50"}})
	if w.Code != 403 || p.Code != "address_denied" {
		t.Errorf("denied address behind the trusted proxy: %d %+v, want 403", w.Code, p)
	}
}

func TestServerRateLimitsByAddress(t *testing.T) {
	limits := guard.DefaultLimits()
	limits.API.Address = guard.Limit{Requests: 3, Period: time.Minute, Burst: 3}
	srv := server.New(server.Config{Guard: server.GuardConfig{RateLimits: &limits}}, openStore(t), slog.New(slog.DiscardHandler), time.Now)
	for range 3 {
		if w, _ := serve(t, srv.Handler(), "GET", "/v1/openapi.json", "198.51.100.1:1", nil, nil); w.Code != 200 {
			t.Fatalf("within the budget: %d", w.Code)
		}
	}
	w, p := serve(t, srv.Handler(), "GET", "/v1/openapi.json", "198.51.100.1:1", nil, nil)
	if w.Code != 429 || p.Code != "rate_limited" || w.Header().Get("Retry-After") != "20" || p.RequestID == "" {
		t.Errorf("past the budget: %d %+v Retry-After %q, want 429 rate_limited, Retry-After 20", w.Code, p, w.Header().Get("Retry-After"))
	}
	if w, _ := serve(t, srv.Handler(), "GET", "/healthz", "198.51.100.1:1", nil, nil); w.Code != 200 {
		t.Errorf("/healthz past the budget: %d, want 200", w.Code)
	}
	// Off for benchmarks.
	off := server.New(server.Config{Guard: server.GuardConfig{RateLimits: &limits, DisableRateLimits: true}}, openStore(t), slog.New(slog.DiscardHandler), time.Now)
	for range 10 {
		if w, _ := serve(t, off.Handler(), "GET", "/v1/openapi.json", "198.51.100.1:1", nil, nil); w.Code != 200 {
			t.Fatalf("rate limits off: %d", w.Code)
		}
	}
}

// Each class of route has its own body limit; a body past it is a 413
// problem before any handler reads it.
func TestServerBodyLimitsPerRouteClass(t *testing.T) {
	cfg := server.Config{WAF: guard.WAFOff, Guard: server.GuardConfig{DisableRateLimits: true,
		BodyLimits: server.BodyLimits{Default: 2048, Events: 8192, SignIn: 1024}}}
	h := server.New(cfg, openStore(t), slog.New(slog.DiscardHandler), time.Now).Handler()
	tests := []struct {
		path string
		size int
		want int
	}{
		{"/v1/customers", 2049, 413},
		{"/v1/events", 8193, 413},
		{"/v1/sessions", 1025, 413},
		// Within the limit the request goes on (and is refused for want
		// of a key, or of a route).
		{"/v1/customers", 2048, 401},
		{"/v1/events", 4096, 404},
		{"/v1/sessions", 1024, 404},
	}
	for _, tt := range tests {
		w, p := serve(t, h, "POST", tt.path, "198.51.100.1:1", strings.NewReader(strings.Repeat(" ", tt.size)), nil)
		if w.Code != tt.want || (tt.want == 413 && p.Code != "request_too_large") {
			t.Errorf("POST %s with %d bytes: %d %+v, want %d", tt.path, tt.size, w.Code, p, tt.want)
		}
	}
}

// A slowloris client, which sends its headers a byte at a time, is cut off
// at the read-header timeout, while a normal client is served.
func TestServerCutsOffSlowloris(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := server.Config{Addr: "127.0.0.1:0", Guard: server.GuardConfig{Timeouts: server.Timeouts{ReadHeader: 300 * time.Millisecond}}}
	srv := server.New(cfg, openStore(t), slog.New(slog.DiscardHandler), time.Now)
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a net.Addr) { addrc <- a }) }()
	addr := (<-addrc).String()
	defer func() {
		cancel()
		<-done
	}()

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a normal client: %v %v", resp, err)
	}
	resp.Body.Close()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan time.Time, 1)
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn)) // returns when the server hangs up
		closed <- time.Now()
	}()
	start := time.Now()
	req := "GET /healthz HTTP/1.1\r\nHost: bursar.test\r\nX-Slow: " + strings.Repeat("a", 200)
	for i := 0; i < len(req); i++ {
		select {
		case at := <-closed:
			if took := at.Sub(start); took > 2*time.Second {
				t.Errorf("the slow client was cut off after %s, want about 300ms", took)
			}
			return
		default:
		}
		if _, err := conn.Write([]byte{req[i]}); err != nil {
			// The server hung up while we wrote: cut off.
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("the slow client was cut off after %s, want about 300ms", took)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("a client sending one header byte every 50ms for %s was never cut off", time.Since(start))
}

// The sign-in budget covers every route that takes a credential, a second
// factor or a mailed token, and only those: after it is spent, a second
// factor or an invitation is refused as a password is, while the rest of
// the API still answers from the same address.
func TestServerSignInBudgetCoversCredentialRoutes(t *testing.T) {
	limits := guard.DefaultLimits()
	limits.SignIn.Address = guard.Limit{Requests: 2, Period: time.Minute, Burst: 2}
	h := server.New(server.Config{Guard: server.GuardConfig{RateLimits: &limits}}, openStore(t), slog.New(slog.DiscardHandler), time.Now).Handler()
	const addr = "198.51.100.7:1"
	body := func() io.Reader {
		return strings.NewReader(`{"email":"nobody@example.com","password":"not a password at all"}`)
	}
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	for range 2 {
		if w, _ := serve(t, h, "POST", "/v1/auth/login", addr, body(), jsonCT); w.Code != 401 {
			t.Fatalf("within the budget: %d %s", w.Code, w.Body)
		}
	}
	for _, path := range []string{"/v1/auth/login", "/v1/auth/login/totp", "/v1/auth/passkey/finish", "/v1/auth/reauthenticate",
		"/v1/auth/password-reset", "/v1/invitations/accept"} {
		if w, p := serve(t, h, "POST", path, addr, strings.NewReader(`{}`), jsonCT); w.Code != 429 || p.Code != "rate_limited" {
			t.Errorf("POST %s past the sign-in budget: %d %+v, want 429 rate_limited", path, w.Code, p)
		}
	}
	if w, _ := serve(t, h, "GET", "/v1/auth/session", addr, nil, nil); w.Code != 401 {
		t.Errorf("GET /v1/auth/session past the sign-in budget: %d, want 401 (not limited)", w.Code)
	}
}
