package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/errs"
)

// routeTable lists every route of the portal with the access it declares.
func (h *Handler) routeTable() []route {
	const GET, POST = http.MethodGet, http.MethodPost
	rs := []route{
		{GET, "/{$}", self, h.home},
		{GET, "/signin", anyone, h.signInPage},
		{POST, "/signin", anyone, h.signIn},
		{POST, "/signout", self, h.signOut},
		{GET, "/sessions", self, h.sessionsPage},
		{POST, "/sessions/{id}/revoke", self, h.revokeSession},
		{POST, "/sessions/revoke-all", self, h.revokeAll},
		{GET, "/reset-password", anyone, h.resetPage},
		{POST, "/reset-password", anyone, h.requestReset},
		{POST, "/reset-password/confirm", anyone, h.confirmReset},
		{GET, "/accept-invitation", anyone, h.invitationPage},
		{POST, "/accept-invitation", anyone, h.acceptInvitation},
	}
	rs = append(rs, h.ssoRoutes()...)
	if h.MFA == nil {
		return rs
	}
	return append(rs, []route{
		{GET, "/signin/mfa", pending, h.challengePage},
		{POST, "/signin/mfa", pending, h.challenge},
		{POST, "/signin/mfa/cancel", pending, h.cancelChallenge},
		{POST, "/signin/mfa/passkey/options", pending, h.challengePasskeyOptions},
		{POST, "/signin/mfa/passkey", pending, h.challengePasskey},
		{GET, "/signin/passkey", anyone, h.passkeySignInPage},
		{POST, "/signin/passkey/options", anyone, h.passkeySignInOptions},
		{POST, "/signin/passkey", anyone, h.passkeySignIn},
		{GET, "/mfa/totp", self, h.totpPage},
		{POST, "/mfa/totp", self, h.beginTOTP},
		{POST, "/mfa/totp/confirm", self, h.confirmTOTP},
		{POST, "/mfa/totp/remove", self, h.removeTOTP},
		{GET, "/passkeys", self, h.passkeysPage},
		{POST, "/passkeys/options", self, h.passkeyOptions},
		{POST, "/passkeys", self, h.addPasskey},
		{POST, "/passkeys/{id}/rename", self, h.renamePasskey},
		{POST, "/passkeys/{id}/remove", self, h.removePasskey},
	}...)
}

// localPath returns next if it is a path of this site, "/" otherwise, so
// that a sign-in link cannot send the user to another site.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.show(w, r, v, http.StatusOK, "signin.html", &view{Title: "Sign in", Notice: noticeOf(r),
		Form: map[string]string{"next": localPath(r.URL.Query().Get("next"))}, Data: h.MFA != nil})
}

// signIn checks an email and password. Whatever is wrong, the page says
// the same (ASVS 5.0 6.3.8); a throttled attempt is told how long to wait.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, v *visitor) {
	email := r.PostForm.Get("email")
	vw := &view{Title: "Sign in", Form: map[string]string{"email": email, "next": localPath(r.PostForm.Get("next"))}, Data: h.MFA != nil}
	res, at, err := h.Identity.Login(r.Context(), email, r.PostForm.Get("password"), h.clientAddr(r), r.UserAgent())
	if err != nil {
		var th *auth.ThrottledError
		switch {
		case errors.As(err, &th):
			h.event(r, "signin.throttled", at.UserID)
			vw.Error = "Too many sign-in attempts. Please wait " + strconv.Itoa(int(th.RetryAfter.Seconds())) +
				" seconds, then try again."
			w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds())))
			h.show(w, r, v, http.StatusTooManyRequests, "signin.html", vw)
		case errs.KindOf(err) == errs.Unauthorized:
			h.event(r, "signin.failed", at.UserID)
			vw.Error = "The email or password is not right."
			h.show(w, r, v, http.StatusUnauthorized, "signin.html", vw)
		default:
			h.fail(w, r, err)
		}
		return
	}
	if v.sess != nil { // signing in again, for a step-up or as someone else
		if err := h.Identity.Logout(r.Context(), v.sess); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	auth.SetSessionCookie(w, res.Secret)
	if res.MFARequired {
		h.event(r, "signin.password_verified", res.User.ID)
		http.Redirect(w, r, "/signin/mfa?next="+url.QueryEscape(vw.Form["next"]), http.StatusSeeOther)
		return
	}
	h.event(r, "signin.succeeded", res.User.ID)
	http.Redirect(w, r, vw.Form["next"], http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := h.Identity.Logout(r.Context(), v.sess); err != nil {
		h.fail(w, r, err)
		return
	}
	h.event(r, "session.signed_out", v.user.ID)
	auth.ClearSessionCookie(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// account is the user as the MFA service names them.
func account(u *auth.User) mfa.Account {
	return mfa.Account{UserID: u.ID, Email: u.Email, Name: u.Name}
}

func (h *Handler) challengePage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.showChallenge(w, r, v, http.StatusOK, &view{})
}

func (h *Handler) showChallenge(w http.ResponseWriter, r *http.Request, v *visitor, status int, vw *view) {
	f, err := h.MFA.FactorsOf(r.Context(), v.user.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vw.Title, vw.Script, vw.Data = "Confirm it is you", f.Passkeys > 0, f
	if vw.Form == nil {
		vw.Form = map[string]string{}
	}
	vw.Form["next"] = localPath(r.FormValue("next"))
	h.show(w, r, v, status, "challenge.html", vw)
}

// challenge checks a TOTP code or, for anything longer, a recovery code.
// Each attempt counts in the sign-in throttle, like a password.
func (h *Handler) challenge(w http.ResponseWriter, r *http.Request, v *visitor) {
	code := strings.TrimSpace(r.PostForm.Get("code"))
	digits := strings.ReplaceAll(code, " ", "")
	remaining := -1
	ok := h.completeSignIn(w, r, v, func(ctx context.Context) error {
		if len(digits) == mfa.TOTPDigits {
			return h.MFA.VerifyTOTP(ctx, v.user.ID, digits)
		}
		var err error
		remaining, err = h.MFA.UseRecoveryCode(ctx, v.user.ID, code)
		return err
	}, &view{Error: "The code was not accepted.", Fields: map[string]string{"code": "This code is wrong, expired or " +
		"already used. Try the current code of your app, or an unused recovery code."}})
	if !ok {
		return
	}
	if remaining >= 0 {
		h.show(w, r, v, http.StatusOK, "recovery_used.html", &view{Title: "Signed in with a recovery code", Data: remaining})
		return
	}
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther) // #nosec G710 -- localPath keeps only a path of this site
}

// completeSignIn runs verify, counted in the sign-in throttle, and on
// success turns the pending session into an active one under a new id.
// A refused factor shows the challenge again with failed; it reports
// whether the visitor is now signed in.
func (h *Handler) completeSignIn(w http.ResponseWriter, r *http.Request, v *visitor, verify func(ctx context.Context) error, failed *view) bool {
	sess, secret, err := h.Identity.CompleteSignIn(r.Context(), v.sess, h.clientAddr(r), verify)
	if err != nil {
		var th *auth.ThrottledError
		switch {
		case errors.As(err, &th):
			h.event(r, "signin.throttled", v.user.ID)
			w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds())))
			h.showChallenge(w, r, v, http.StatusTooManyRequests, &view{Error: "Too many attempts. Please wait " +
				strconv.Itoa(int(th.RetryAfter.Seconds())) + " seconds, then try again."})
		case errors.Is(err, mfa.ErrVerification):
			h.event(r, "signin.mfa_failed", v.user.ID)
			h.showChallenge(w, r, v, http.StatusUnauthorized, failed)
		default:
			h.fail(w, r, err)
		}
		return false
	}
	v.sess, v.secret = sess, string(secret)
	auth.SetSessionCookie(w, secret)
	h.event(r, "signin.succeeded", v.user.ID)
	return true
}

func (h *Handler) cancelChallenge(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := h.Identity.Logout(r.Context(), v.sess); err != nil {
		h.fail(w, r, err)
		return
	}
	auth.ClearSessionCookie(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// ceremonyCookie keeps the id of the WebAuthn ceremony in progress between
// the options and the answer; the ceremony itself is stored server-side
// and used once.
const ceremonyCookie = "__Host-bursar_ceremony"

func setCeremony(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{Name: ceremonyCookie, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(mfa.CeremonyTTL.Seconds())})
}

// takeCeremony returns the ceremony id of the request and drops the cookie.
func takeCeremony(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(ceremonyCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: ceremonyCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	return c.Value
}

// options answers the options of a WebAuthn ceremony to the script.
func (h *Handler) options(w http.ResponseWriter, r *http.Request, opts any, id string, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status, msg := http.StatusInternalServerError, "Something went wrong on our side. Please try again."
		var e *errs.Error
		if errors.As(err, &e) && e.Kind != errs.Internal {
			status, msg = http.StatusConflict, capitalize(e.Message)+"."
		} else {
			h.Logger.ErrorContext(r.Context(), "web: passkey options", "err", err)
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	setCeremony(w, id)
	_ = json.NewEncoder(w).Encode(opts)
}

func (h *Handler) challengePasskeyOptions(w http.ResponseWriter, r *http.Request, v *visitor) {
	opts, id, err := h.MFA.BeginPasskeyLogin(r.Context(), account(v.user))
	h.options(w, r, opts, id, err)
}

func (h *Handler) challengePasskey(w http.ResponseWriter, r *http.Request, v *visitor) {
	ceremony := takeCeremony(w, r)
	ok := h.completeSignIn(w, r, v, func(ctx context.Context) error {
		_, err := h.MFA.FinishPasskeyLogin(ctx, account(v.user), ceremony, []byte(r.PostForm.Get("credential")))
		return err
	}, &view{Error: "The passkey was not accepted. Try again, or use a code."})
	if ok {
		http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther) // #nosec G710 -- localPath keeps only a path of this site
	}
}

func (h *Handler) passkeySignInPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.show(w, r, v, http.StatusOK, "passkey_signin.html", &view{Title: "Sign in with a passkey", Script: true})
}

func (h *Handler) passkeySignInOptions(w http.ResponseWriter, r *http.Request, v *visitor) {
	opts, id, err := h.MFA.BeginDiscoverableLogin(r.Context())
	h.options(w, r, opts, id, err)
}

// passkeySignIn signs in with a passkey alone: the authenticator names
// the user and verified them. The attempt counts in the address's sign-in
// throttle.
func (h *Handler) passkeySignIn(w http.ResponseWriter, r *http.Request, v *visitor) {
	ceremony := takeCeremony(w, r)
	var userID string
	res, err := h.Identity.SignInWithPasskey(r.Context(), h.clientAddr(r), r.UserAgent(), func(ctx context.Context) (string, error) {
		id, _, err := h.MFA.FinishDiscoverableLogin(ctx, ceremony, []byte(r.PostForm.Get("credential")))
		userID = id
		return id, err
	})
	if err != nil {
		vw := &view{Title: "Sign in with a passkey", Script: true}
		var th *auth.ThrottledError
		switch {
		case errors.As(err, &th):
			w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds())))
			vw.Error = "Too many sign-in attempts. Please wait " + strconv.Itoa(int(th.RetryAfter.Seconds())) + " seconds, then try again."
			h.show(w, r, v, http.StatusTooManyRequests, "passkey_signin.html", vw)
		case errors.Is(err, mfa.ErrVerification):
			h.event(r, "signin.failed", userID)
			vw.Error = "The passkey was not accepted. Try again, or sign in with your password."
			h.show(w, r, v, http.StatusUnauthorized, "passkey_signin.html", vw)
		default:
			h.fail(w, r, err)
		}
		return
	}
	if v.sess != nil {
		if err := h.Identity.Logout(r.Context(), v.sess); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	auth.SetSessionCookie(w, res.Secret)
	h.event(r, "signin.succeeded", res.User.ID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
