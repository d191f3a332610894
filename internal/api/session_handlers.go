package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/errs"
)

// identityRoutes are the routes of users, sign-in and sessions, served
// when Deps.Identity is set.
func (a *api) identityRoutes() []route {
	const GET, POST, PATCH, DELETE = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []route{
		{POST, "/v1/auth/login", signin, write, a.login},
		{POST, "/v1/auth/password-reset", signin, write, a.requestPasswordReset},
		{POST, "/v1/auth/password-reset/confirm", signin, write, a.confirmPasswordReset},
		{POST, "/v1/invitations/accept", signin, write, a.acceptInvitation},

		{GET, "/v1/auth/session", self, read, a.getSession},
		{POST, "/v1/auth/logout", challenge, write, a.logout},
		{POST, "/v1/auth/password", self, write, a.changePassword},
		{GET, "/v1/auth/sessions", self, read, a.listSessions},
		{DELETE, "/v1/auth/sessions/{id}", self, write, a.revokeSession},
		{POST, "/v1/auth/sessions/revoke-all", self, write, a.revokeAllSessions},

		{GET, "/v1/users", "users", read, a.listUsers},
		{POST, "/v1/users", "users", write, a.inviteUser},
		{PATCH, "/v1/users/{id}", "users", write, a.updateUser},
		{DELETE, "/v1/users/{id}", "users", write, a.removeUser},
		{POST, "/v1/users/{id}/sessions/revoke", "users", write, a.revokeUserSessions},
		{GET, "/v1/invitations", "users", read, a.listInvitations},
		{DELETE, "/v1/invitations/{id}", "users", write, a.revokeInvitation},
	}
}

// signedIn is the answer to a sign-in and to GET /v1/auth/session.
type signedIn struct {
	User        *auth.User         `json:"user"`
	Session     *auth.Session      `json:"session"`
	CSRFToken   string             `json:"csrf_token"`
	MFARequired bool               `json:"mfa_required"`
	Memberships []*auth.Membership `json:"memberships"`
}

func (a *api) signedIn(ctx context.Context, u *auth.User, sess *auth.Session, secret string) (*signedIn, error) {
	ms, err := a.Identity.Store.ListUserMemberships(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &signedIn{User: u, Session: sess, CSRFToken: auth.CSRFToken(secret), MFARequired: sess.State == auth.SessionMFAPending,
		Memberships: ms}, nil
}

// authEvent records a security event of a user, outside any organization:
// a user is not an organization's. The email, if any, is a keyed hash.
func (a *api) authEvent(r *http.Request, action, userID, email string) {
	e := &audit.Entry{Action: action, ObjectType: "user", ObjectID: userID}
	if email != "" {
		e.Fields = []audit.Field{{Name: "email", Hash: a.Audit.Keys.Hasher.HashPersonal(audit.SystemTree, []byte(auth.NormalizeEmail(email)))}}
	}
	c := caller{}
	if userID != "" {
		c.user = &auth.User{ID: userID}
	} else {
		e.Actor = audit.Actor{Type: audit.ActorUser}
	}
	a.securityEvent(r, c, e)
}

type loginInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// login signs in with an email and password (ASVS 5.0 6.3, 7.2).
func (a *api) login(w http.ResponseWriter, r *http.Request, _ caller) error {
	var in loginInput
	if err := decode(r, &in); err != nil {
		return err
	}
	addr, _ := a.clientAddr(r)
	res, at, err := a.Identity.Login(r.Context(), in.Email, in.Password, addr.String(), r.UserAgent())
	if err != nil {
		var th *auth.ThrottledError
		if errors.As(err, &th) {
			w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds())))
			a.authEvent(r, "signin.throttled", at.UserID, in.Email)
		} else if errs.KindOf(err) == errs.Unauthorized {
			a.authEvent(r, "signin.failed", at.UserID, in.Email)
		}
		return err
	}
	action := "signin.succeeded"
	if res.MFARequired {
		action = "signin.password_verified"
	}
	a.authEvent(r, action, res.User.ID, "")
	out, err := a.signedIn(r.Context(), res.User, res.Session, string(res.Secret))
	if err != nil {
		return err
	}
	setSessionCookie(w, res.Secret)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getSession tells the caller who they are and gives the CSRF token.
func (a *api) getSession(w http.ResponseWriter, r *http.Request, c caller) error {
	out, err := a.signedIn(r.Context(), c.user, c.session, c.secret)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) logout(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := a.Identity.Logout(r.Context(), c.session); err != nil {
		return err
	}
	a.securityEvent(r, c, &audit.Entry{Action: "session.signed_out", ObjectType: "session", ObjectID: c.session.ID})
	clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sessionView is a session in the list of one's own.
type sessionView struct {
	*auth.Session
	Current bool `json:"current"`
}

func (a *api) listSessions(w http.ResponseWriter, r *http.Request, c caller) error {
	all, err := a.Identity.Sessions(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	out := make([]sessionView, 0, len(all))
	for _, s := range all {
		out = append(out, sessionView{Session: s, Current: s.ID == c.session.ID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "has_more": false})
	return nil
}

func (a *api) revokeSession(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "ses", "session")
	if err != nil {
		return err
	}
	// Signing out this browser needs nothing more; ending another of
	// one's sessions needs a fresh authentication (ASVS 5.0 7.5.2).
	if id != c.session.ID {
		if err := a.stepUp(c); err != nil {
			return err
		}
	}
	if err := a.Identity.RevokeSession(r.Context(), c.user.ID, id); err != nil {
		return err
	}
	a.securityEvent(r, c, &audit.Entry{Action: "session.revoked", ObjectType: "session", ObjectID: id})
	if id == c.session.ID {
		clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) revokeAllSessions(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil { // ASVS 5.0 7.5.2
		return err
	}
	n, err := a.Identity.RevokeAll(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	a.securityEvent(r, c, &audit.Entry{Action: "session.revoked_all", ObjectType: "user", ObjectID: c.user.ID,
		Fields: []audit.Field{{Name: "revoked", Value: []byte(strconv.FormatInt(n, 10))}}})
	clearSessionCookie(w)
	writeJSON(w, http.StatusOK, map[string]int64{"revoked": n})
	return nil
}

type passwordChangeInput struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword sets a new password; the other sessions end and this one
// gets a new id (ASVS 5.0 7.4.3).
func (a *api) changePassword(w http.ResponseWriter, r *http.Request, c caller) error {
	var in passwordChangeInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if c.session.State != auth.SessionActive {
		return errs.E(errs.Unauthorized, "mfa_required", "complete the second factor of this sign-in first")
	}
	sess, secret, err := a.Identity.ChangePassword(r.Context(), c.session, in.CurrentPassword, in.NewPassword)
	if err != nil {
		return renameField(err, "password", "new_password")
	}
	a.securityEvent(r, c, &audit.Entry{Action: "password.changed", ObjectType: "user", ObjectID: c.user.ID})
	out, err := a.signedIn(r.Context(), c.user, sess, string(secret))
	if err != nil {
		return err
	}
	setSessionCookie(w, secret)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// renameField renames a field of an Invalid error, for a request whose
// field has another name than the rule's.
func renameField(err error, from, to string) error {
	var e *errs.Error
	if !errors.As(err, &e) {
		return err
	}
	for i := range e.Fields {
		if e.Fields[i].Field == from {
			e.Fields[i].Field = to
		}
	}
	return err
}

type resetInput struct {
	Email string `json:"email"`
}

// requestPasswordReset answers 202 whether or not the email names a user
// (ASVS 5.0 6.3.8's no enumeration); the mail goes in the background.
func (a *api) requestPasswordReset(w http.ResponseWriter, r *http.Request, _ caller) error {
	var in resetInput
	if err := decode(r, &in); err != nil {
		return err
	}
	// The per-address budget of the guard and the account's bound the
	// mails one can make a victim receive.
	if err := a.Limiter.AllowAccount(w, "reset|"+auth.NormalizeEmail(in.Email)); err != nil {
		return err
	}
	userID, err := a.Identity.RequestPasswordReset(r.Context(), in.Email)
	if err != nil {
		return err
	}
	a.authEvent(r, "password_reset.requested", userID, in.Email)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "if the email names an account, a link is on its way"})
	return nil
}

type resetConfirmInput struct {
	Token    string `json:"token"`
	Password string `json:"password"`
	// Code is a second-factor code, required when the user has one.
	Code string `json:"code"`
}

func (a *api) confirmPasswordReset(w http.ResponseWriter, r *http.Request, _ caller) error {
	var in resetConfirmInput
	if err := decode(r, &in); err != nil {
		return err
	}
	userID, err := a.Identity.ConfirmPasswordReset(r.Context(), in.Token, in.Password, in.Code)
	if err != nil {
		return err
	}
	a.authEvent(r, "password.reset", userID, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
