package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"bursar/internal/server"
	"bursar/internal/tlstest"
)

// runTLS runs a server with the certificate and a redirect listener, and
// returns the HTTPS address and the redirect address.
func runTLS(t *testing.T, certFile, keyFile string) (httpsAddr, redirectAddr string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redirectAddr = ln.Addr().String()
	ln.Close()
	srv := server.New(server.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		TLS: server.TLSConfig{CertFile: certFile, KeyFile: keyFile, RedirectAddr: redirectAddr}},
		openStore(t), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a net.Addr) { ready <- a.String() }) }()
	select {
	case httpsAddr = <-ready:
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return httpsAddr, redirectAddr
}

// TLS (issue 3 §6): 1.3 when the client has it, 1.2 at least, only AEAD
// suites with forward secrecy for 1.2, HSTS on the answers, and plain HTTP
// sent to HTTPS.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := tlstest.SelfSigned(t, t.TempDir())
	httpsAddr, redirectAddr := runTLS(t, certFile, keyFile)
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)

	dial := func(cfg *tls.Config) (*tls.Conn, error) {
		cfg.RootCAs = pool
		cfg.ServerName = "localhost"
		d := &net.Dialer{Timeout: 5 * time.Second}
		return tls.DialWithDialer(d, "tcp", httpsAddr, cfg)
	}
	t.Run("TLS 1.3 preferred", func(t *testing.T) {
		c, err := dial(&tls.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
			t.Errorf("negotiated %s, want TLS 1.3", tls.VersionName(v))
		}
	})
	t.Run("TLS 1.2 with an AEAD suite", func(t *testing.T) {
		c, err := dial(&tls.Config{MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if s := c.ConnectionState(); s.Version != tls.VersionTLS12 || s.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 &&
			s.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 && s.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
			t.Errorf("negotiated %s %s", tls.VersionName(s.Version), tls.CipherSuiteName(s.CipherSuite))
		}
	})
	t.Run("TLS 1.1 refused", func(t *testing.T) {
		c, err := dial(&tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}) // #nosec G402 -- the test proves the server refuses it
		if err == nil {
			c.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
	})
	t.Run("CBC suite refused", func(t *testing.T) {
		c, err := dial(&tls.Config{MaxVersion: tls.VersionTLS12, // #nosec G402 -- the test proves the server refuses it
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}})
		if err == nil {
			c.Close()
			t.Fatal("a handshake with only CBC suites succeeded")
		}
	})
	t.Run("HTTPS answers with HSTS", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}}}
		resp, err := client.Get("https://" + httpsAddr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("%s, Strict-Transport-Security %q", resp.Status, resp.Header.Get("Strict-Transport-Security"))
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2 over TLS", resp.Proto)
		}
	})
	t.Run("plain HTTP to the TLS port fails", func(t *testing.T) {
		resp, err := http.Get("http://" + httpsAddr + "/healthz")
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Fatal("the TLS port served plain HTTP")
			}
		}
	})
	t.Run("HTTP redirected to HTTPS", func(t *testing.T) {
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, tc := range []struct {
			method, host string
			status       int
			location     string
		}{
			{"GET", "localhost", 301, "https://localhost:" + httpsPort + "/v1/invoices?limit=2"},
			{"HEAD", "127.0.0.1:80", 301, "https://127.0.0.1:" + httpsPort + "/v1/invoices?limit=2"},
			{"POST", "localhost", 308, "https://localhost:" + httpsPort + "/v1/invoices?limit=2"},
			{"GET", "evil.example/x", 400, ""},
		} {
			req, err := http.NewRequest(tc.method, "http://"+redirectAddr+"/v1/invoices?limit=2", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.location {
				t.Errorf("%s Host %s: %s Location %q, want %d %q", tc.method, tc.host, resp.Status, resp.Header.Get("Location"), tc.status, tc.location)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Strict-Transport-Security") != "" {
				t.Errorf("%s Host %s: redirect headers %v", tc.method, tc.host, resp.Header)
			}
		}
	})
}
