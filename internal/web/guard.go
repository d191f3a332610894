package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"

	"bursar/internal/auth"
	"bursar/internal/errs"
)

// access is who may use a route.
type access string

// The accesses a route may declare.
const (
	// anyone is a page used before signing in. Its forms carry a token
	// derived from the pre-session cookie.
	anyone access = "(sign-in)"
	// pending is a page of a session that passed the password and waits
	// for its second factor, and of nothing else.
	pending access = "(mfa-pending)"
	// self is a page of a signed-in user about their own account. Its
	// forms carry the session's token.
	self access = "(self)"
)

func (a access) valid() bool { return a == anyone || a == pending || a == self }

// CSRFField is the name of the hidden field of every form that carries
// the synchronizer token (auth.CSRFToken).
const CSRFField = "csrf_token"

// preSessionCookie holds a random value from which the token of forms
// used before signing in (sign-in, password reset, invitation) is derived,
// so that another site can neither post them in the user's name nor sign
// the user in to an account of its own choosing (login CSRF).
const preSessionCookie = "__Host-bursar_presession"

// maxFormBytes bounds a form: the largest, a passkey's response, is a few
// kilobytes.
const maxFormBytes = 64 << 10

// visitor is who makes a request: a session and its user, or no one yet.
type visitor struct {
	sess *auth.Session
	user *auth.User
	// secret is what the request's forms' token derives from: the
	// session's cookie value, or the pre-session cookie's.
	secret string
}

func (v *visitor) csrf() string { return auth.CSRFToken(v.secret) }

// handlerFunc is a portal handler.
type handlerFunc func(w http.ResponseWriter, r *http.Request, v *visitor)

// route is a method and pattern, its access and its handler.
type route struct {
	method, pattern string
	access          access
	h               handlerFunc
}

var errCSRF = errors.New("web: cross-site or stale form")

// guard runs a route's checks: the session its access needs, redirects
// for a visitor who is elsewhere in the sign-in flow, and on a POST the
// origin and the synchronizer token.
func (h *Handler) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Pages are about one visitor: never stored by a cache
		// (the server sets it too; the portal must not depend on it).
		w.Header().Set("Cache-Control", "no-store")
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		v := &visitor{}
		if c, err := r.Cookie(auth.SessionCookie); err == nil && c.Value != "" {
			sess, u, err := h.Identity.Resume(r.Context(), c.Value)
			switch {
			case err == nil:
				v.sess, v.user, v.secret = sess, u, c.Value
			case errs.KindOf(err) == errs.Unauthorized:
				auth.ClearSessionCookie(w)
			default:
				h.fail(w, r, err)
				return
			}
		}
		switch rt.access {
		case anyone:
			// A signed-in visitor is sent home from the sign-in page, but
			// for a sign-in again before a sensitive change (?next=).
			if v.sess != nil && r.Method == http.MethodGet && rt.pattern == "/signin" && r.URL.Query().Get("next") == "" {
				http.Redirect(w, r, homeOf(v.sess), http.StatusSeeOther)
				return
			}
			// Pages before sign-in use the pre-session token even for a
			// visitor with a session: the reset and invitation links work
			// the same whoever is signed in.
			v.secret = h.preSession(w, r)
		case pending:
			if v.sess == nil {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			if v.sess.State != auth.SessionMFAPending {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
		case self:
			if v.sess == nil {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			if v.sess.State != auth.SessionActive {
				http.Redirect(w, r, "/signin/mfa", http.StatusSeeOther)
				return
			}
		}
		if r.Method == http.MethodPost {
			if err := checkForm(r, v.secret); err != nil {
				h.render(w, r, http.StatusForbidden, "error.html", &view{Title: "Form refused", Error: "This form came " +
					"from another site, or the page was open for too long. Go back, reload the page and try again."})
				return
			}
		}
		if rt.access == self && !h.enrolled(w, r, v, rt) {
			return
		}
		rt.h(w, r, v)
	})
}

// homeOf is where a visitor with a session belongs.
func homeOf(s *auth.Session) string {
	if s.State == auth.SessionMFAPending {
		return "/signin/mfa"
	}
	return "/"
}

// checkForm refuses a post that the browser says comes from another site
// or that lacks the token derived from secret (ASVS 5.0 3.5.1).
func checkForm(r *http.Request, secret string) error {
	if !auth.SameOrigin(r) || secret == "" {
		return errCSRF
	}
	if err := r.ParseForm(); err != nil {
		return errCSRF
	}
	got := r.PostForm[CSRFField]
	want := auth.CSRFToken(secret)
	if len(got) != 1 || subtle.ConstantTimeCompare([]byte(got[0]), []byte(want)) != 1 {
		return errCSRF
	}
	return nil
}

// preSession returns the value of the pre-session cookie, setting a new
// one if the browser has none.
func (h *Handler) preSession(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preSessionCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	if r.Method != http.MethodGet {
		return "" // a post without the cookie cannot carry its token
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic(err) // the system's random source failed
	}
	v := base64.RawURLEncoding.EncodeToString(raw[:])
	http.SetCookie(w, &http.Cookie{Name: preSessionCookie, Value: v, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
	return v
}

// enrolled sends a member of an organization that requires a second
// factor, who has none, to enrol one before anything else (issue 3 §3).
func (h *Handler) enrolled(w http.ResponseWriter, r *http.Request, v *visitor, rt route) bool {
	if h.MFA == nil || enrolmentPage(rt.pattern) {
		return true
	}
	ms, err := h.Identity.Store.ListUserMemberships(r.Context(), v.user.ID)
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	for _, m := range ms {
		must, err := h.MFA.MustEnrol(r.Context(), m.OrgID, v.user.ID)
		if err != nil {
			h.fail(w, r, err)
			return false
		}
		if must {
			http.Redirect(w, r, "/mfa/totp", http.StatusSeeOther)
			return false
		}
	}
	return true
}

// enrolmentPage reports whether a pattern is one that a user who must
// enrol a second factor may still use.
func enrolmentPage(pattern string) bool {
	switch pattern {
	case "/mfa/totp", "/mfa/totp/confirm", "/passkeys", "/passkeys/options", "/signout":
		return true
	}
	return false
}
