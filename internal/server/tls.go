package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// TLSConfig is how the server speaks HTTPS (issue 3 §6). The zero value
// serves plain HTTP, for a server behind a proxy that terminates TLS.
type TLSConfig struct {
	// CertFile and KeyFile name a PEM certificate chain and its key. The
	// files are read again when they change, so a renewed certificate
	// (cert-manager, certbot) is served without a restart.
	CertFile, KeyFile string
	// ACMEHosts, instead of the files, obtain and renew certificates for
	// these host names from an ACME CA (Let's Encrypt by default) by
	// TLS-ALPN-01 on the HTTPS port or, with RedirectAddr on port 80,
	// HTTP-01.
	ACMEHosts []string
	// ACMEEmail is the contact address given to the CA; may be empty.
	ACMEEmail string
	// ACMECacheDir keeps the account key and the certificates; required
	// with ACMEHosts, as a CA limits how often it issues.
	ACMECacheDir string
	// ACMEDirectoryURL is the CA's directory; empty means Let's Encrypt's
	// production directory.
	ACMEDirectoryURL string
	// RedirectAddr, if set, is a plain-HTTP listener that redirects every
	// request to HTTPS (and answers ACME HTTP-01 challenges).
	RedirectAddr string
}

// Enabled reports whether the server speaks TLS.
func (c TLSConfig) Enabled() bool { return c.CertFile != "" || len(c.ACMEHosts) > 0 }

// baseTLSConfig is the protocol policy: TLS 1.3 whenever the client has it
// (Go always picks the highest common version), TLS 1.2 at the least, and
// for 1.2 only forward-secret AEAD suites (ECDHE with AES-GCM or
// ChaCha20-Poly1305; no CBC, no RSA key exchange). TLS 1.3's suites are all
// AEAD and are not configurable.
func baseTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos: []string{"h2", "http/1.1"},
	}
}

// newTLSConfig returns the server's TLS configuration and, with ACME, the
// handler that must answer HTTP-01 challenges on the redirect listener.
func newTLSConfig(c TLSConfig, log *slog.Logger) (*tls.Config, func(fallback http.Handler) http.Handler, error) {
	cfg := baseTLSConfig()
	if len(c.ACMEHosts) > 0 {
		if c.ACMECacheDir == "" {
			return nil, nil, errors.New("server: ACME needs a cache directory")
		}
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(c.ACMEHosts...),
			Cache:      autocert.DirCache(c.ACMECacheDir),
			Email:      c.ACMEEmail,
		}
		if c.ACMEDirectoryURL != "" {
			m.Client = &acme.Client{DirectoryURL: c.ACMEDirectoryURL}
		}
		// A client that sends no server name (a probe on 127.0.0.1, such
		// as `bursar healthcheck`) gets the first host's certificate
		// rather than a failed handshake.
		first := c.ACMEHosts[0]
		cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				h := *hello
				h.ServerName = first
				hello = &h
			}
			return m.GetCertificate(hello)
		}
		cfg.NextProtos = append(cfg.NextProtos, acme.ALPNProto)
		return cfg, m.HTTPHandler, nil
	}
	kp := &keyPair{certFile: c.CertFile, keyFile: c.KeyFile, log: log}
	if err := kp.load(); err != nil {
		return nil, nil, err
	}
	cfg.GetCertificate = kp.get
	return cfg, func(fallback http.Handler) http.Handler { return fallback }, nil
}

// keyPair serves a certificate from files, reading them again at most
// every keyPairCheck when their modification time changed. A renewed pair
// that does not load is logged and the old one kept.
type keyPair struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	mtime   time.Time
	checked time.Time
}

const keyPairCheck = 30 * time.Second

func (k *keyPair) modTime() (time.Time, error) {
	var latest time.Time
	for _, f := range []string{k.certFile, k.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return time.Time{}, err
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	return latest, nil
}

func (k *keyPair) load() error {
	mtime, err := k.modTime()
	if err != nil {
		return fmt.Errorf("server: TLS certificate: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("server: TLS certificate: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cert, k.mtime, k.checked = &cert, mtime, time.Now()
	return nil
}

func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	cert, due := k.cert, time.Since(k.checked) >= keyPairCheck
	if due {
		k.checked = time.Now()
	}
	mtime := k.mtime
	k.mu.Unlock()
	if due {
		if m, err := k.modTime(); err == nil && !m.Equal(mtime) {
			if err := k.load(); err != nil {
				k.log.Error("TLS certificate changed but does not load; serving the previous one", "err", err)
			} else {
				k.log.Info("TLS certificate reloaded", "file", k.certFile)
				k.mu.Lock()
				cert = k.cert
				k.mu.Unlock()
			}
		}
	}
	return cert, nil
}

// redirectToHTTPS answers every plain-HTTP request with a permanent
// redirect to the same path over HTTPS on httpsPort ("" or "443" for the
// default port). GET and HEAD get 301, every other method 308, which keeps
// the method. A Host that is not a plain host name or address gets 400,
// so the redirect cannot be pointed elsewhere.
func redirectToHTTPS(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !validHost(host) {
			http.Error(w, "bad host", http.StatusBadRequest)
			return
		}
		if strings.Contains(host, ":") { // an IPv6 address
			host = "[" + host + "]"
		}
		if httpsPort != "" && httpsPort != "443" {
			host += ":" + httpsPort
		}
		status := http.StatusMovedPermanently
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			status = http.StatusPermanentRedirect
		}
		// #nosec G710 -- the target is the request's own host, checked by validHost to be a bare name or address, over HTTPS.
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), status)
	})
}

// validHost accepts a DNS name or an IP address literal, nothing else.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// listenRedirect starts the plain-HTTP listener of TLSConfig.RedirectAddr,
// which sends every request to the HTTPS listener at httpsAddr's port (and,
// through acme, answers HTTP-01 challenges). The caller closes it.
func (s *Server) listenRedirect(ctx context.Context, httpsAddr net.Addr, acme func(http.Handler) http.Handler) (*http.Server, error) {
	ln, err := net.Listen("tcp", s.cfg.TLS.RedirectAddr)
	if err != nil {
		return nil, fmt.Errorf("server: listen on %s: %w", s.cfg.TLS.RedirectAddr, err)
	}
	_, port, _ := net.SplitHostPort(httpsAddr.String())
	srv := &http.Server{
		Handler:           securityHeaders(false, acme(redirectToHTTPS(port))),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Info("redirecting to HTTPS", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("redirect listener stopped", "err", err)
		}
	}()
	return srv, nil
}
