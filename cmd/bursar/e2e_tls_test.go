package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"bursar/internal/tlstest"
)

// The real binary with --tls-cert and --tls-key (from the environment)
// speaks TLS 1.3, sends HSTS, redirects plain HTTP, and `bursar
// healthcheck` still works against it.
func TestE2ETLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := tlstest.SelfSigned(t, dir)
	addr, redirectAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(binPath, "serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data"), "--http-redirect-addr", redirectAddr)
	cmd.Env = append(os.Environ(), "BURSAR_TLS_CERT="+certFile, "BURSAR_TLS_KEY="+keyFile)
	var stderr syncBuffer
	cmd.Stderr = writerFunc(func(b []byte) (int, error) { stderr.WriteString(string(b)); return len(b), nil })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}}}
	_, port, _ := net.SplitHostPort(addr)
	base := "https://" + addr
	var resp *http.Response
	for deadline := time.Now().Add(60 * time.Second); ; {
		var err error
		if resp, err = client.Get(base + "/healthz"); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("bursar serve exited early: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS answer: %v\n%s", err, stderr.String())
		}
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("healthz over HTTPS: %s, TLS %+v; want 200 over TLS 1.3", resp.Status, resp.TLS)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=63072000; includeSubDomains" {
		t.Errorf("Strict-Transport-Security = %q", h)
	}

	old := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11} // #nosec G402 -- the test proves the server refuses it
	if c, err := tls.Dial("tcp", addr, old); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest("GET", "http://"+redirectAddr+"/v1/invoices?limit=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "localhost"
	r2, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if want := "https://localhost:" + port + "/v1/invoices?limit=1"; r2.StatusCode != 301 || r2.Header.Get("Location") != want {
		t.Errorf("plain HTTP: %s Location %q, want 301 %q", r2.Status, r2.Header.Get("Location"), want)
	}

	// The container's probe talks to 127.0.0.1, which the certificate
	// does not name: it needs --insecure, and fails without it.
	if code, _, stderr := runCmd(t, nil, "healthcheck", "--url", base+"/healthz", "--insecure"); code != 0 {
		t.Errorf("healthcheck --insecure: exit %d, %s", code, stderr)
	}
	if code, _, _ := runCmd(t, nil, "healthcheck", "--url", base+"/healthz"); code != 1 {
		t.Errorf("healthcheck of an unverifiable certificate: exit %d, want 1", code)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
