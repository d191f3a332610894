package web

import (
	"errors"
	"net/http"

	"bursar/internal/auth/mfa"
	"bursar/internal/errs"
)

// totpView is what the authenticator app page shows.
type totpView struct {
	Enabled bool
	// Enrolment, QR and Codes are shown once each: the secret while
	// enrolment is pending, the recovery codes when first made.
	Enrolment *mfa.TOTPEnrolment
	QR        *qrCode
	Codes     []string
	Factors   mfa.Factors
}

func (h *Handler) totpPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	f, err := h.MFA.FactorsOf(r.Context(), v.user.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.show(w, r, v, http.StatusOK, "totp.html", &view{Title: "Authenticator app", Notice: noticeOf(r),
		Data: totpView{Enabled: f.TOTP, Factors: f}})
}

// beginTOTP makes a new secret and shows it, as text and as a QR code,
// with the form that confirms it.
func (h *Handler) beginTOTP(w http.ResponseWriter, r *http.Request, v *visitor) {
	if !h.fresh(w, r, v, "/mfa/totp") {
		return
	}
	enr, err := h.MFA.BeginTOTP(r.Context(), account(v.user))
	if errs.CodeOf(err) == "totp_enabled" {
		http.Redirect(w, r, "/mfa/totp", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showEnrolment(w, r, v, http.StatusOK, enr, &view{})
}

func (h *Handler) showEnrolment(w http.ResponseWriter, r *http.Request, v *visitor, status int, enr *mfa.TOTPEnrolment, vw *view) {
	tv := totpView{Enrolment: enr}
	if q, err := newQRCode(enr.URI); err == nil {
		tv.QR = &q
	} else {
		h.Logger.WarnContext(r.Context(), "web: qr code", "err", err) // the text remains
	}
	vw.Title, vw.Data = "Set up an authenticator app", tv
	h.show(w, r, v, status, "totp_enrol.html", vw)
}

// confirmTOTP turns the pending secret on with a first code and shows the
// recovery codes, once, if the user had none.
func (h *Handler) confirmTOTP(w http.ResponseWriter, r *http.Request, v *visitor) {
	codes, err := h.MFA.ConfirmTOTP(r.Context(), v.user.ID, r.PostForm.Get("code"))
	if errors.Is(err, mfa.ErrVerification) {
		// The secret stays pending: show it again with the error.
		enr := &mfa.TOTPEnrolment{Secret: r.PostForm.Get("secret"), URI: r.PostForm.Get("uri")}
		h.showEnrolment(w, r, v, http.StatusUnprocessableEntity, enr, &view{Error: "The code was not accepted.",
			Fields: map[string]string{"code": "This code is wrong or expired. Enter the code your app shows now."}})
		return
	}
	if err != nil && errs.CodeOf(err) != "totp_enabled" {
		h.fail(w, r, err)
		return
	}
	h.show(w, r, v, http.StatusOK, "totp.html", &view{Title: "Authenticator app",
		Notice: "Your authenticator app is set up. From now on, signing in asks for its code.",
		Data:   totpView{Enabled: true, Codes: codes}})
}

func (h *Handler) removeTOTP(w http.ResponseWriter, r *http.Request, v *visitor) {
	if !h.fresh(w, r, v, "/mfa/totp") {
		return
	}
	if err := h.MFA.RemoveTOTP(r.Context(), v.user.ID); err != nil && errs.KindOf(err) != errs.NotFound {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/mfa/totp?notice=totp_removed", http.StatusSeeOther)
}

// passkeysView is what the passkeys page shows.
type passkeysView struct {
	Passkeys []*mfa.Passkey
	Codes    []string
}

func (h *Handler) passkeysPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.showPasskeys(w, r, v, http.StatusOK, &view{Notice: noticeOf(r)}, nil)
}

func (h *Handler) showPasskeys(w http.ResponseWriter, r *http.Request, v *visitor, status int, vw *view, codes []string) {
	ps, err := h.MFA.ListPasskeys(r.Context(), v.user.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vw.Title, vw.Script, vw.Data = "Passkeys", true, passkeysView{Passkeys: ps, Codes: codes}
	h.show(w, r, v, status, "passkeys.html", vw)
}

// passkeyOptions starts adding a passkey; the script asks the
// authenticator with the options and posts its answer to addPasskey.
func (h *Handler) passkeyOptions(w http.ResponseWriter, r *http.Request, v *visitor) {
	if !mfa.Fresh(v.sess.CreatedAt, h.Now()) {
		h.options(w, r, nil, "", errs.E(errs.Unauthorized, "reauthenticate", "sign in again to add a passkey: "+
			"your sign-in is more than five minutes old"))
		return
	}
	opts, id, err := h.MFA.BeginPasskeyRegistration(r.Context(), account(v.user))
	h.options(w, r, opts, id, err)
}

func (h *Handler) addPasskey(w http.ResponseWriter, r *http.Request, v *visitor) {
	_, codes, err := h.MFA.FinishPasskeyRegistration(r.Context(), account(v.user), takeCeremony(w, r),
		r.PostForm.Get("name"), []byte(r.PostForm.Get("credential")))
	if err != nil {
		vw := &view{Form: map[string]string{"name": r.PostForm.Get("name")}}
		if errors.Is(err, mfa.ErrVerification) {
			h.showPasskeys(w, r, v, http.StatusUnprocessableEntity, vw, nil)
			return
		}
		status, ok := formError(err, vw)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.showPasskeys(w, r, v, status, vw, nil)
		return
	}
	if len(codes) > 0 {
		h.showPasskeys(w, r, v, http.StatusOK, &view{Notice: "The passkey was added."}, codes)
		return
	}
	http.Redirect(w, r, "/passkeys?notice=passkey", http.StatusSeeOther)
}

func (h *Handler) renamePasskey(w http.ResponseWriter, r *http.Request, v *visitor) {
	err := h.MFA.RenamePasskey(r.Context(), v.user.ID, r.PathValue("id"), r.PostForm.Get("name"))
	if err != nil {
		vw := &view{}
		status, ok := formError(err, vw)
		if !ok {
			h.fail(w, r, err)
			return
		}
		if msg := vw.Fields["name"]; msg != "" {
			vw.Error = "The new name was refused. " + msg
			vw.Fields = nil
		}
		h.showPasskeys(w, r, v, status, vw, nil)
		return
	}
	http.Redirect(w, r, "/passkeys?notice=renamed", http.StatusSeeOther)
}

func (h *Handler) removePasskey(w http.ResponseWriter, r *http.Request, v *visitor) {
	if !h.fresh(w, r, v, "/passkeys") {
		return
	}
	if err := h.MFA.RemovePasskey(r.Context(), v.user.ID, r.PathValue("id")); err != nil {
		status, ok := formError(err, &view{})
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.showPasskeys(w, r, v, status, &view{Error: "That passkey does not exist any more."}, nil)
		return
	}
	http.Redirect(w, r, "/passkeys?notice=removed", http.StatusSeeOther)
}
