package api

import (
	"crypto/subtle"
	"net/http"

	"bursar/internal/auth"
	"bursar/internal/errs"
)

// Session cookies and the headers that go with them.
const (
	// SessionCookie is the session's cookie (auth.SessionCookie).
	SessionCookie = auth.SessionCookie
	// CSRFHeader carries the session's synchronizer token on every
	// state-changing request made with the cookie.
	CSRFHeader = "X-CSRF-Token"
	// OrgHeader chooses the organization a session caller acts in; it may
	// be left out by a user who belongs to exactly one.
	OrgHeader = "Bursar-Organization"
)

// Resources of routes outside the role matrix.
const (
	// signin is the resource of the routes that start a session or use a
	// token from a mail: no credentials, POST only, throttled, and checked
	// for a cross-site origin.
	signin = "(sign-in)"
	// self is the resource of the routes on the caller's own sessions:
	// any signed-in user, a session cookie only.
	self = "(self)"
)

// sessionOf returns the request's session cookie value, or "".
func sessionOf(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie gives the browser the cookie of a new session.
func setSessionCookie(w http.ResponseWriter, secret auth.Secret) { auth.SetSessionCookie(w, secret) }

// clearSessionCookie tells the browser to drop the cookie.
func clearSessionCookie(w http.ResponseWriter) { auth.ClearSessionCookie(w) }

var errCrossSite = errs.E(errs.Forbidden, "csrf_failed", "the request comes from another site or lacks the session's "+CSRFHeader+" header")

// checkOrigin refuses a request that the browser says comes from another
// site (auth.SameOrigin).
func checkOrigin(r *http.Request) error {
	if !auth.SameOrigin(r) {
		return errCrossSite
	}
	return nil
}

// checkCSRF guards a state-changing request authenticated by the cookie:
// the origin checks, and the synchronizer token that only a page of this
// site can have read (ASVS 5.0 3.5.1).
func checkCSRF(r *http.Request, secret string) error {
	if err := checkOrigin(r); err != nil {
		return err
	}
	want := auth.CSRFToken(secret)
	got := r.Header.Values(CSRFHeader)
	if len(got) != 1 || subtle.ConstantTimeCompare([]byte(got[0]), []byte(want)) != 1 {
		return errCrossSite
	}
	return nil
}

// sessionCaller authenticates the request by its session cookie: the
// session must be live, a state-changing request must pass the CSRF
// checks, and, but on the routes of the caller's own account, the user
// acts in one organization with the role of their membership there, once
// enrolled in a second factor if the organization requires one.
func (a *api) sessionCaller(w http.ResponseWriter, r *http.Request, rt route, secret string) (caller, error) {
	sess, u, err := a.Identity.Resume(r.Context(), secret)
	if err != nil {
		a.auditRejected(r, rt, err)
		return caller{}, err
	}
	if r.Method != http.MethodGet {
		if err := checkCSRF(r, secret); err != nil {
			return caller{}, err
		}
	}
	c := caller{user: u, session: sess, secret: secret}
	// A session that waits for its second factor reaches the challenge
	// routes and nothing else.
	switch {
	case rt.resource == challenge:
		return c, nil
	case sess.State != auth.SessionActive:
		return caller{}, errs.E(errs.Unauthorized, "mfa_required", "complete the second factor of this sign-in first")
	case rt.resource == self:
		return c, nil
	}
	m, err := a.membershipOf(r, u.ID)
	if err != nil {
		return caller{}, err
	}
	c.orgID, c.role = m.OrgID, m.Role
	if err := a.mustEnrol(r.Context(), m.OrgID, u.ID); err != nil {
		return caller{}, err
	}
	if err := a.Limiter.AllowKey(w, r, sess.ID, c.orgID); err != nil {
		return caller{}, err
	}
	if !auth.RoleAllows(m.Role, rt.resource, rt.write) {
		access := "read"
		if rt.write {
			access = "write"
		}
		a.auditDenied(r, c, rt, access)
		return caller{}, errs.E(errs.Forbidden, "insufficient_role", "the role %s does not allow %s access to %s", m.Role, access, rt.resource)
	}
	return c, nil
}

var errNotMember = errs.E(errs.Forbidden, "not_a_member", "you are not a member of this organization")

// membershipOf is the membership the request acts with: the one of the
// organization named by the Bursar-Organization header, or else the user's
// only one.
func (a *api) membershipOf(r *http.Request, userID string) (*auth.Membership, error) {
	if orgID := r.Header.Get(OrgHeader); orgID != "" {
		m, err := a.Identity.Store.GetMembership(r.Context(), orgID, userID)
		if errs.KindOf(err) == errs.NotFound {
			return nil, errNotMember
		}
		return m, err
	}
	ms, err := a.Identity.Store.ListUserMemberships(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	switch len(ms) {
	case 0:
		return nil, errNotMember
	case 1:
		return ms[0], nil
	}
	return nil, errs.E(errs.Invalid, "organization_required", "you belong to several organizations: name one in the %s header", OrgHeader)
}

// scopes are the API key scopes that the caller's permissions amount to:
// a key's own, or those of a session's role, so that nobody can make a
// key more powerful than themselves.
func (c caller) scopes() []string {
	if c.key != nil {
		return c.key.Scopes
	}
	if c.role == auth.RoleOwner {
		return []string{auth.FullAccess}
	}
	var out []string
	for res, acc := range auth.Permissions[c.role] {
		switch acc {
		case auth.WriteAccess:
			out = append(out, res+":write")
		case auth.ReadAccess:
			out = append(out, res+":read")
		}
	}
	return out
}

// actorID names the caller in records: an API key or a user.
func (c caller) actorID() string {
	if c.key != nil {
		return c.key.ID
	}
	if c.user != nil {
		return c.user.ID
	}
	return ""
}
