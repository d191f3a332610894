package web

import (
	"net/http"
	"net/url"

	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/errs"
)

// membershipView is an organization the user belongs to, and the role.
type membershipView struct {
	OrgName string
	Role    auth.Role
}

// home says who is signed in and in which organizations.
func (h *Handler) home(w http.ResponseWriter, r *http.Request, v *visitor) {
	ms, err := h.Identity.Store.ListUserMemberships(r.Context(), v.user.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]membershipView, 0, len(ms))
	for _, m := range ms {
		o, err := h.Orgs.GetOrganization(r.Context(), m.OrgID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out = append(out, membershipView{OrgName: o.Name, Role: m.Role})
	}
	h.show(w, r, v, http.StatusOK, "home.html", &view{Title: "Your account", Notice: noticeOf(r), Data: out})
}

// notices are the messages a redirect may ask the next page to show, by
// key: a page never shows text taken from the address.
var notices = map[string]string{
	"revoked":      "The session was signed out.",
	"passkey":      "The passkey was added.",
	"renamed":      "The passkey was renamed.",
	"removed":      "The passkey was removed.",
	"totp_removed": "The authenticator app was removed.",
	"invited":      "Welcome! You are now a member. Sign in to continue.",
	"reset":        "Your password was changed and every session signed out. Sign in with the new password.",
}

func noticeOf(r *http.Request) string { return notices[r.URL.Query().Get("notice")] }

// sessionRow is a session in the list of one's own.
type sessionRow struct {
	*auth.Session
	Current bool
}

func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	all, err := h.Identity.Sessions(r.Context(), v.user.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := make([]sessionRow, 0, len(all))
	for _, s := range all {
		rows = append(rows, sessionRow{Session: s, Current: s.ID == v.sess.ID})
	}
	h.show(w, r, v, http.StatusOK, "sessions.html", &view{Title: "Your sessions", Notice: noticeOf(r), Data: rows})
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, v *visitor) {
	id := r.PathValue("id")
	// Ending another session asks for a fresh sign-in (ASVS 5.0 7.5.2);
	// signing out this browser does not.
	if id != v.sess.ID && !h.fresh(w, r, v, "/sessions") {
		return
	}
	err := h.Identity.RevokeSession(r.Context(), v.user.ID, id)
	if errs.KindOf(err) == errs.NotFound {
		http.Redirect(w, r, "/sessions", http.StatusSeeOther) // already ended
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.event(r, "session.revoked", v.user.ID)
	if id == v.sess.ID {
		auth.ClearSessionCookie(w)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/sessions?notice=revoked", http.StatusSeeOther)
}

// revokeAll signs out everywhere, this browser included.
func (h *Handler) revokeAll(w http.ResponseWriter, r *http.Request, v *visitor) {
	if !h.fresh(w, r, v, "/sessions") { // ASVS 5.0 7.5.2
		return
	}
	if _, err := h.Identity.RevokeAll(r.Context(), v.user.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.event(r, "session.revoked_all", v.user.ID)
	auth.ClearSessionCookie(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	token := r.URL.Query().Get("token")
	if token == "" {
		h.show(w, r, v, http.StatusOK, "reset_request.html", &view{Title: "Reset your password"})
		return
	}
	h.show(w, r, v, http.StatusOK, "reset_confirm.html", &view{Title: "Choose a new password",
		Form: map[string]string{"token": token}, Data: h.MFA != nil})
}

// requestReset answers the same whether or not the email names an account.
func (h *Handler) requestReset(w http.ResponseWriter, r *http.Request, v *visitor) {
	userID, err := h.Identity.RequestPasswordReset(r.Context(), r.PostForm.Get("email"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if userID != "" {
		h.event(r, "password_reset.requested", userID)
	}
	h.show(w, r, v, http.StatusOK, "reset_sent.html", &view{Title: "Check your mail"})
}

func (h *Handler) confirmReset(w http.ResponseWriter, r *http.Request, v *visitor) {
	token := r.PostForm.Get("token")
	userID, err := h.Identity.ConfirmPasswordReset(r.Context(), token, r.PostForm.Get("password"), r.PostForm.Get("code"))
	if err != nil {
		vw := &view{Title: "Choose a new password", Form: map[string]string{"token": token}, Data: h.MFA != nil}
		status, ok := formError(err, vw)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.show(w, r, v, status, "reset_confirm.html", vw)
		return
	}
	h.event(r, "password.reset", userID)
	if v.sess != nil && v.sess.UserID == userID {
		auth.ClearSessionCookie(w) // it was ended with the others
	}
	http.Redirect(w, r, "/signin?notice=reset", http.StatusSeeOther)
}

func (h *Handler) invitationPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.show(w, r, v, http.StatusOK, "invitation.html", &view{Title: "Accept the invitation",
		Form: map[string]string{"token": r.URL.Query().Get("token")}})
}

func (h *Handler) acceptInvitation(w http.ResponseWriter, r *http.Request, v *visitor) {
	token, name := r.PostForm.Get("token"), r.PostForm.Get("name")
	u, _, err := h.Identity.AcceptInvitation(r.Context(), token, name, r.PostForm.Get("password"))
	if err != nil {
		vw := &view{Title: "Accept the invitation", Form: map[string]string{"token": token, "name": name}}
		status, ok := formError(err, vw)
		if !ok {
			h.fail(w, r, err)
			return
		}
		if errs.KindOf(err) == errs.Unauthorized { // an existing account's password
			vw.Error = ""
			vw.Fields = map[string]string{"password": "You already have an account: give its password to accept."}
		}
		h.show(w, r, v, status, "invitation.html", vw)
		return
	}
	h.event(r, "invitation.accepted", u.ID)
	http.Redirect(w, r, "/signin?notice=invited", http.StatusSeeOther)
}

// fresh reports whether the session's sign-in is recent enough for a
// change of second factors (ASVS 5.0 7.5.1) or ending other sessions
// (7.5.2); if not, it sends the user to sign in again, with every factor
// they have, and come back.
func (h *Handler) fresh(w http.ResponseWriter, r *http.Request, v *visitor, back string) bool {
	// A session's creation is its last authentication: a new id is
	// issued at every sign-in and second factor.
	if mfa.Fresh(v.sess.CreatedAt, h.Now()) {
		return true
	}
	http.Redirect(w, r, "/signin?next="+url.QueryEscape(back), http.StatusSeeOther)
	return false
}
