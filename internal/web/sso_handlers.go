package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/auth/sso"
)

// ssoRoutes are the pages of single sign-on, served when Deps.SSO is set.
func (h *Handler) ssoRoutes() []route {
	if h.SSO == nil {
		return nil
	}
	return []route{
		{http.MethodGet, "/sso", anyone, h.ssoPage},
		{http.MethodGet, sso.StartPath, anyone, h.ssoStartPage},
		{http.MethodPost, sso.StartPath, anyone, h.ssoStart},
		{http.MethodGet, sso.CallbackPath, anyone, h.ssoCallback},
	}
}

// ssoCookie binds a sign-in at the provider to the browser that began it:
// the provider's answer is taken only together with it, so that another
// site cannot sign the user in to an account of its choosing by sending
// them an answer of its own (login CSRF). SameSite=Lax, not Strict: the
// answer arrives by a redirect from the provider's site, and a Strict
// cookie would stay behind.
const ssoCookie = "__Host-bursar_sso"

// errSSOFailed is the one message of a refused sign-in, whatever failed:
// which check failed is logged, and would tell an attacker what to try.
const errSSOFailed = "Single sign-on did not succeed. Ask your organization's administrator whether you may sign in with it, or sign in with your password."

func (h *Handler) ssoPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.show(w, r, v, http.StatusOK, "sso.html", &view{Title: "Sign in with your organization",
		Form: map[string]string{"next": localPath(r.URL.Query().Get("next"))}})
}

// ssoStartPage is where the link an organization gives its members
// (sso.View.SignInURL) lands: the single sign-on page with the
// organization filled in. Following a link starts nothing: another site
// could send a browser there, and with the provider's own session still
// live a Bursar session would start without the user doing anything here
// (ASVS 5.0 7.6.2). The user's click on the form's button does.
func (h *Handler) ssoStartPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	q := r.URL.Query()
	h.show(w, r, v, http.StatusOK, "sso.html", &view{Title: "Sign in with your organization",
		Form: map[string]string{"org": q.Get("org"), "next": localPath(q.Get("next"))}})
}

// ssoStart sends the browser to the organization's provider, from the
// posted form of the single sign-on page: the guard has checked its origin
// and its anti-CSRF token, so another site cannot start it.
func (h *Handler) ssoStart(w http.ResponseWriter, r *http.Request, v *visitor) {
	org, next := r.PostFormValue("org"), localPath(r.PostFormValue("next"))
	vw := &view{Title: "Sign in with your organization", Form: map[string]string{"org": org, "next": next}}
	if org == "" || len(org) > 100 {
		vw.Fields = map[string]string{"org": "Enter the organization ID your administrator gave you."}
		h.show(w, r, v, http.StatusUnprocessableEntity, "sso.html", vw)
		return
	}
	authURL, browser, err := h.SSO.Begin(r.Context(), org, next)
	if errors.Is(err, sso.ErrRefused) {
		h.Logger.InfoContext(r.Context(), "web: single sign-on not started", "reason", err.Error())
		vw.Error = "Single sign-on is not available for this organization."
		h.show(w, r, v, http.StatusNotFound, "sso.html", vw)
		return
	}
	if err != nil {
		h.Logger.WarnContext(r.Context(), "web: single sign-on not started", "org", org, "err", err)
		vw.Error = "Your organization's identity provider cannot be reached now. Please try again later."
		h.show(w, r, v, http.StatusBadGateway, "sso.html", vw)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: browser, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sso.FlowTTL.Seconds())})
	http.Redirect(w, r, authURL, http.StatusSeeOther) // #nosec G710 -- the organization's provider's authorization endpoint (sso.Service checks it is https), where single sign-on must send the browser
}

// ssoCallback takes the provider's answer. A refusal of any kind shows
// one message and makes no session.
func (h *Handler) ssoCallback(w http.ResponseWriter, r *http.Request, v *visitor) {
	var browser string
	if c, err := r.Cookie(ssoCookie); err == nil {
		browser = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	q := r.URL.Query()
	code := q.Get("code")
	if q.Get("error") != "" {
		code = "" // the provider refused; the flow is still taken below
	}
	res, err := h.SSO.Finish(r.Context(), q.Get("state"), code, browser, h.clientAddr(r), r.UserAgent())
	vw := &view{Title: "Sign in with your organization", Form: map[string]string{"next": "/"}}
	if err != nil {
		var th *auth.ThrottledError
		switch {
		case errors.As(err, &th):
			h.ssoEvent(r, "signin.throttled", "", "")
			secs := strconv.Itoa(int(th.RetryAfter.Seconds()))
			w.Header().Set("Retry-After", secs)
			vw.Error = "Too many sign-in attempts. Please wait " + secs + " seconds, then try again."
			h.show(w, r, v, http.StatusTooManyRequests, "sso.html", vw)
		case errors.Is(err, sso.ErrRefused):
			h.Logger.InfoContext(r.Context(), "web: single sign-on refused", "reason", err.Error())
			h.ssoEvent(r, "signin.failed", "", "")
			vw.Error = errSSOFailed
			h.show(w, r, v, http.StatusUnauthorized, "sso.html", vw)
		default:
			h.fail(w, r, err)
		}
		return
	}
	if v.sess != nil { // signed in already, perhaps as someone else
		if err := h.Identity.Logout(r.Context(), v.sess); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	auth.SetSessionCookie(w, res.Secret)
	next := localPath(res.Next)
	if res.MFARequired {
		h.ssoEvent(r, "signin.sso_verified", res.User.ID, res.OrgID)
		http.Redirect(w, r, "/signin/mfa?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	h.ssoEvent(r, "signin.succeeded", res.User.ID, res.OrgID)
	http.Redirect(w, r, next, http.StatusSeeOther) // #nosec G710 -- localPath keeps only a path of this site
}

// ssoEvent records a sign-in event like event, with the method "sso" and
// the organization whose provider vouched for the user.
func (h *Handler) ssoEvent(r *http.Request, action, userID, orgID string) {
	if h.Audit == nil {
		return
	}
	fields := []audit.Field{{Name: "method", Value: json.RawMessage(`"sso"`)}}
	if orgID != "" {
		b, _ := json.Marshal(orgID) // a string always encodes
		fields = append(fields, audit.Field{Name: "org_id", Value: b})
	}
	e := &audit.Entry{Tree: audit.SystemTree, Time: h.Now(), Action: action, ObjectType: "user", ObjectID: userID,
		Actor: audit.Actor{Type: audit.ActorUser, ID: userID}, Fields: fields}
	if addr, err := netip.ParseAddr(h.clientAddr(r)); err == nil {
		e.AddressHash = h.Audit.Keys.Hasher.HashPersonal(e.Tree, []byte(addr.String()))
	}
	ctx := context.WithoutCancel(r.Context())
	if err := h.Audit.Append(ctx, e); err != nil {
		h.Logger.ErrorContext(ctx, "web: audit security event", "action", action, "err", err)
	}
}
