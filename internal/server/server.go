// Package server wires Bursar together: stores, services, the API handler,
// health checks and the middleware every request passes through, and runs
// the HTTP server with a graceful shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"bursar/internal/api"
	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/auth/sso"
	"bursar/internal/catalog"
	"bursar/internal/customer"
	"bursar/internal/guard"
	"bursar/internal/invoice"
	"bursar/internal/org"
	"bursar/internal/privacy"
	"bursar/internal/web"
)

// Store is everything the server needs from storage; both the SQLite and
// the PostgreSQL store provide it.
type Store interface {
	org.Store
	customer.Store
	catalog.Store
	invoice.Store
	auth.Store
	auth.OAuthStore
	auth.IdentityStore
	mfa.Store
	sso.Store
	api.IdempotencyStore
	privacy.Store
	guard.RuleStore
	guard.LimitStore
	audit.Store
	Ping(ctx context.Context) error
}

// Config holds the server's settings.
type Config struct {
	Addr            string
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	// Guard sets the client address behind proxies, the rate limits, the
	// address rules, body limits per route and timeouts. MaxBodyBytes
	// above is its default body limit, for routes of no other class.
	Guard GuardConfig
	// AuditKeys sign the audit log's checkpoints and hash the personal
	// values in it; nil makes throw-away keys (for tests and benchmarks),
	// whose checkpoints no one can verify later.
	AuditKeys *audit.Keys
	// CheckpointInterval is how often Run signs a checkpoint of every
	// audit tree that grew; 0 means DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// WAF is the web application firewall's mode (on, the default; detect;
	// off) and WAFParanoia its Core Rule Set paranoia level (1, the
	// default, to 4).
	WAF         guard.WAFMode
	WAFParanoia int
	// WAFVerdictCache is how many clean verdicts of the WAF on requests
	// without a body are remembered (guard.WAFConfig.VerdictCacheSize): 0
	// means the default, a negative number turns the cache off.
	WAFVerdictCache int
	// SecurityEvents receives what the guard refuses; nil logs it at
	// warning level and appends it to the audit log's system tree, within
	// a budget per client address (security_events.go).
	SecurityEvents guard.Events
	// TLS, if enabled, makes the server speak HTTPS only (and send HSTS).
	TLS TLSConfig
	// OAuthPrivateNetworks lets the server fetch identity providers'
	// discovery documents, keys and (for single sign-on) tokens from
	// loopback and private addresses
	// (an identity provider inside the same network); by default only
	// public addresses are reached, so that an organization's settings
	// cannot probe the server's own network.
	OAuthPrivateNetworks bool
	// Identity sets up users, sign-in, sessions and second factors.
	Identity IdentityConfig
}

// Server is a configured Bursar HTTP server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	audit   *audit.Log
	ids     Identity
}

// New wires the services over store and returns a server. It panics on a
// WAF setting that guard.NewWAF refuses: cmd/bursar validates the flags
// first, and the rule set is embedded, so what remains is a programming
// error that every test catches.
func New(cfg Config, store Store, log *slog.Logger, now func() time.Time) *Server {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	auditLog := &audit.Log{Store: store, Keys: cfg.AuditKeys, Now: now}
	if auditLog.Keys == nil {
		keys, err := audit.EphemeralKeys()
		if err != nil {
			panic(fmt.Sprintf("server: audit keys: %v", err)) // the system's random source failed
		}
		log.Warn("audit: no keys configured; checkpoints are signed with a throw-away key")
		auditLog.Keys = keys
	}
	if cfg.Guard.BodyLimits.Default <= 0 {
		cfg.Guard.BodyLimits.Default = cfg.MaxBodyBytes
	}
	cfg.Guard.BodyLimits = cfg.Guard.BodyLimits.withDefaults()
	// The guard bounds each body by its route's class; what is behind it
	// only needs to stop at the largest.
	cfg.MaxBodyBytes = cfg.Guard.BodyLimits.largest()
	parts := newGuardParts(cfg.Guard, store, log, now)
	ids := newIdentity(cfg, store, auditLog, log, now)
	apiHandler := api.New(api.Deps{
		Orgs:          store,
		Customers:     &customer.Service{Store: store, Now: now},
		CustomerStore: store,
		Catalog:       &catalog.Service{Store: store, Now: now},
		CatalogStore:  store,
		Invoices:      &invoice.Service{Store: store, Now: now},
		Auth:          &auth.Service{Store: store, Now: now, Used: auditKeyUse(auditLog, log)},
		Idempotency:   store,
		Logger:        log,
		Now:           now,
		MaxBodyBytes:  cfg.MaxBodyBytes,
		Audit:         auditLog,
		ClientAddr:    guard.ClientAddrFrom,

		Limiter:        parts.limiter,
		RateLimitStore: store,
		IPRules:        parts.rules,
		ServerAdmin:    parts.admin,

		Tokens:         newTokenVerifier(cfg, store, log, now),
		OAuthProviders: store,
		SSO:            ids.SSO,
		Privacy:        &privacy.Service{Store: store, Now: now},

		Identity: ids.Identity,
		MFA:      ids.MFA,
	})
	mux := http.NewServeMux()
	mux.Handle("/v1/", apiHandler)
	// The portal serves every other path: its pages call the same
	// identity and MFA services as the API.
	mux.Handle("/", web.New(web.Deps{Identity: ids.Identity, MFA: ids.MFA, SSO: ids.SSO, Orgs: store, Audit: auditLog, Logger: log,
		Now: now, ClientAddr: guard.ClientAddrFrom}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := store.Ping(ctx); err != nil {
			log.Warn("readiness check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}`))
	})
	events := cfg.SecurityEvents
	if events == nil {
		events = &auditEvents{logEvents: logEvents{log}, audit: auditLog, now: now}
	}
	// The WAF stands in front of every route and of authentication, so an
	// attack costs no database work; the request id comes first, so that
	// its refusals name one.
	guarded, err := guard.NewWAF(guard.WAFConfig{Mode: cfg.WAF, Paranoia: cfg.WAFParanoia, VerdictCacheSize: cfg.WAFVerdictCache,
		MaxBodyBytes: cfg.MaxBodyBytes, Events: events, Problem: api.WriteProblem}, mux)
	if err != nil {
		panic(fmt.Sprintf("server: %v", err))
	}
	// The security headers are set first of all, so that every answer,
	// the guard's and the panic handler's too, carries them.
	handler := securityHeaders(cfg.TLS.Enabled(), recoverer(log, api.RequestIDs(now, parts.wrap(cfg.Guard, guarded))))
	return &Server{cfg: cfg, log: log, audit: auditLog, handler: handler, ids: ids}
}

// Handler returns the server's root handler, for tests and benchmarks.
func (s *Server) Handler() http.Handler { return s.handler }

// Identity returns the identity and MFA services the server runs.
func (s *Server) Identity() Identity { return s.ids }

// Run listens on the configured address and serves until ctx is cancelled,
// then stops accepting connections and lets in-flight requests finish (up to
// the shutdown timeout). ready, if not nil, receives the bound address.
func (s *Server) Run(ctx context.Context, ready func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.cfg.Addr, err)
	}
	var tlsCfg *tls.Config
	var acmeHTTP func(http.Handler) http.Handler
	if s.cfg.TLS.Enabled() {
		if tlsCfg, acmeHTTP, err = newTLSConfig(s.cfg.TLS, s.log); err != nil {
			_ = ln.Close()
			return err
		}
	}
	t := s.cfg.Guard.Timeouts.withDefaults()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// Requests keep running after the shutdown signal: their context
		// is not the server's, so a SIGTERM never cancels a half-done write.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		TLSConfig:   tlsCfg,
	}
	var redirect *http.Server
	if s.cfg.TLS.Enabled() && s.cfg.TLS.RedirectAddr != "" {
		if redirect, err = s.listenRedirect(ctx, ln.Addr(), acmeHTTP); err != nil {
			_ = ln.Close()
			return err
		}
		defer redirect.Close()
	}
	if ready != nil {
		ready(ln.Addr())
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "tls", s.cfg.TLS.Enabled())
	stopCheckpoints := s.checkpointEvery(s.cfg.CheckpointInterval)
	defer stopCheckpoints()
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate comes from tlsCfg
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if redirect != nil {
		_ = redirect.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("stopped")
	return nil
}

// recoverer turns a panic in a handler into a plain 500 problem document and
// a log line, never a stack trace for the client.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal_error"}`))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
