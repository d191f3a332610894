// Package web serves Bursar's portal at "/": server-rendered pages for
// signing in (password, second factor, passkey alone), enrolling an
// authenticator app and passkeys, the list of one's sessions, password
// reset and accepting an invitation. Templates and static files are
// embedded; pages work without JavaScript, but for the WebAuthn ceremonies,
// which a small static script runs. Every form carries a synchronizer
// token and is checked for its origin; every route declares who may use it
// (docs/portal.md).
package web

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/auth/sso"
	"bursar/internal/org"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps is what the portal needs: the identity and MFA services it calls,
// the organizations it names, and the log, clock and audit log it runs with.
type Deps struct {
	// Identity signs users in and keeps their sessions; required.
	Identity *auth.Identity
	// MFA runs TOTP, recovery codes and passkeys; nil leaves the pages of
	// second factors answering 404 and sign-in to passwords alone.
	MFA *mfa.Service
	// SSO, if set, signs members in with their organization's OpenID
	// Connect provider (/sso); nil leaves those pages answering 404.
	SSO *sso.Service
	// Orgs names the organizations a user belongs to; required.
	Orgs org.Store
	// Audit, if set, records sign-ins, sign-outs and revocations.
	Audit  *audit.Log
	Logger *slog.Logger
	Now    func() time.Time
	// ClientAddr, if set, returns the client address that the middleware
	// in front resolved (behind trusted proxies); the direct peer's is used
	// otherwise. Sign-in is throttled per address.
	ClientAddr func(ctx context.Context) (netip.Addr, bool)
}

// Handler is the portal.
type Handler struct {
	Deps
	routes []route
	mux    *http.ServeMux
	pages  pages
}

// New returns the portal's handler. It panics on a route without a
// declared access or on a template that does not parse: programming
// errors that every test catches.
func New(d Deps) *Handler {
	if d.Identity == nil || d.Orgs == nil {
		panic("web: Deps.Identity and Deps.Orgs are required") // a wiring error
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{Deps: d, mux: http.NewServeMux(), pages: parsePages()}
	h.routes = h.routeTable()
	for _, rt := range h.routes {
		if !rt.access.valid() {
			panic(fmt.Sprintf("web: route %s %s declares no access", rt.method, rt.pattern))
		}
		h.mux.Handle(rt.method+" "+rt.pattern, h.guard(rt))
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded folder exists
	}
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Public files, the same for everyone: cacheable, unlike pages.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	return h
}

// ServeHTTP routes a request to its page; a path no route serves is the
// portal's 404 page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		w.Header().Set("Cache-Control", "no-store")
		h.render(w, r, http.StatusNotFound, "error.html", &view{Title: "Page not found",
			Error: "There is no page at this address."})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Route describes one route of the portal, for tests and documentation.
type Route struct {
	Method, Pattern string
	// Access is who may use it: "(sign-in)" anyone, with the pre-session
	// token; "(mfa-pending)" a session waiting for its second factor;
	// "(self)" a signed-in user, on their own account.
	Access string
}

// Routes lists the portal's routes with the access each declares.
func (h *Handler) Routes() []Route {
	out := make([]Route, 0, len(h.routes))
	for _, rt := range h.routes {
		out = append(out, Route{rt.method, rt.pattern, string(rt.access)})
	}
	return out
}

// clientAddr is the client's address as resolved in front of the portal,
// or else the direct peer's.
func (h *Handler) clientAddr(r *http.Request) string {
	if h.ClientAddr != nil {
		if addr, ok := h.ClientAddr(r.Context()); ok {
			return addr.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// event records a security event of a user in the audit log's system
// tree, as the API does for the same actions.
func (h *Handler) event(r *http.Request, action, userID string) {
	if h.Audit == nil {
		return
	}
	e := &audit.Entry{Tree: audit.SystemTree, Time: h.Now(), Action: action, ObjectType: "user", ObjectID: userID,
		Actor: audit.Actor{Type: audit.ActorUser, ID: userID}}
	if addr, err := netip.ParseAddr(h.clientAddr(r)); err == nil {
		e.AddressHash = h.Audit.Keys.Hasher.HashPersonal(e.Tree, []byte(addr.String()))
	}
	ctx := context.WithoutCancel(r.Context())
	if err := h.Audit.Append(ctx, e); err != nil {
		h.Logger.ErrorContext(ctx, "web: audit security event", "action", action, "err", err)
	}
}
