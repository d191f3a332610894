package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/errs"
)

// challenge is the resource of the routes that every live session
// reaches, one that waits for its second factor included: completing the
// sign-in, and signing out. A pending session reaches nothing else.
const challenge = "(challenge)"

// errStepUp asks for a fresh authentication before a sensitive change
// (ASVS 5.0 7.5.1): the session must have been authenticated within
// mfa.StepUpWindow.
var errStepUp = errs.E(errs.Forbidden, "reauthentication_required",
	"confirm it is you first (POST /v1/auth/reauthenticate), then retry within 5 minutes")

// errEnrolFirst refuses a member of an organization that requires a
// second factor, who has none, anything but their own account's routes.
var errEnrolFirst = errs.E(errs.Forbidden, "mfa_enrolment_required",
	"this organization requires a second factor: enrol one (/v1/auth/mfa) before anything else")

// mfaRoutes are the routes of second factors, served when Deps.MFA and
// Deps.Identity are set.
func (a *api) mfaRoutes() []route {
	const GET, POST, PUT, PATCH, DELETE = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	rs := []route{
		{POST, "/v1/auth/login/totp", challenge, write, a.loginTOTP},
		{POST, "/v1/auth/login/recovery-code", challenge, write, a.loginRecoveryCode},
		{POST, "/v1/auth/login/passkey/begin", challenge, write, a.loginPasskeyBegin},
		{POST, "/v1/auth/login/passkey/finish", challenge, write, a.loginPasskeyFinish},
		{POST, "/v1/auth/passkey/begin", signin, write, a.passkeyBegin},
		{POST, "/v1/auth/passkey/finish", signin, write, a.passkeyFinish},

		{POST, "/v1/auth/reauthenticate", self, write, a.reauthenticate},
		{GET, "/v1/auth/mfa", self, read, a.getMFA},
		{POST, "/v1/auth/mfa/totp", self, write, a.beginTOTP},
		{POST, "/v1/auth/mfa/totp/confirm", self, write, a.confirmTOTP},
		{DELETE, "/v1/auth/mfa/totp", self, write, a.removeTOTP},
		{POST, "/v1/auth/mfa/recovery-codes", self, write, a.regenerateRecoveryCodes},
		{GET, "/v1/auth/mfa/passkeys", self, read, a.listPasskeys},
		{POST, "/v1/auth/mfa/passkeys/begin", self, write, a.beginPasskeyRegistration},
		{POST, "/v1/auth/mfa/passkeys/finish", self, write, a.finishPasskeyRegistration},
		{PATCH, "/v1/auth/mfa/passkeys/{id}", self, write, a.renamePasskey},
		{DELETE, "/v1/auth/mfa/passkeys/{id}", self, write, a.removePasskey},

		{GET, "/v1/organization/mfa", "organization", read, a.getOrgMFA},
		{PUT, "/v1/organization/mfa", "organization", write, a.setOrgMFA},
	}
	for i := range rs {
		h := rs[i].h
		rs[i].h = func(w http.ResponseWriter, r *http.Request, c caller) error {
			if a.MFA == nil || a.Identity == nil {
				return errNoRoute(r.URL.Path)
			}
			return h(w, r, c)
		}
	}
	return rs
}

// stepUp refuses a session caller whose last authentication is not fresh;
// an API key is refused nothing here, its scopes decide.
func (a *api) stepUp(c caller) error {
	if c.session == nil || mfa.Fresh(c.session.CreatedAt, a.Now()) {
		return nil
	}
	return errStepUp
}

// mustEnrol refuses a session caller who must enrol a second factor first.
func (a *api) mustEnrol(ctx context.Context, orgID, userID string) error {
	if a.MFA == nil {
		return nil
	}
	must, err := a.MFA.MustEnrol(ctx, orgID, userID)
	if err != nil {
		return err
	}
	if must {
		return errEnrolFirst
	}
	return nil
}

func accountOf(u *auth.User) mfa.Account {
	return mfa.Account{UserID: u.ID, Email: u.Email, Name: u.Name}
}

// retryAfter tells a throttled client when to try again.
func retryAfter(w http.ResponseWriter, err error) {
	var th *auth.ThrottledError
	if errors.As(err, &th) {
		w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds())))
	}
}

// signedInAgain answers a request that gave the caller a new session.
func (a *api) signedInAgain(w http.ResponseWriter, r *http.Request, u *auth.User, sess *auth.Session, secret auth.Secret, extra map[string]any) error {
	out, err := a.signedIn(r.Context(), u, sess, string(secret))
	if err != nil {
		return err
	}
	setSessionCookie(w, secret)
	if extra == nil {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for k, v := range extra {
		m[k] = v
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// completeSignIn runs a second factor of a pending sign-in, counted in
// the sign-in throttle, and answers with the active session.
func (a *api) completeSignIn(w http.ResponseWriter, r *http.Request, c caller, factor mfa.Factor, verify func(ctx context.Context) error, extra map[string]any) error {
	addr, _ := a.clientAddr(r)
	sess, secret, err := a.Identity.CompleteSignIn(r.Context(), c.session, addr.String(), verify)
	if err != nil {
		retryAfter(w, err)
		return err
	}
	a.securityEvent(r, c, &audit.Entry{Action: "signin.succeeded", ObjectType: "user", ObjectID: c.user.ID,
		Fields: []audit.Field{{Name: "factor", Value: jsonString(string(factor))}}})
	return a.signedInAgain(w, r, c.user, sess, secret, extra)
}

type codeInput struct {
	Code string `json:"code"`
}

func (a *api) loginTOTP(w http.ResponseWriter, r *http.Request, c caller) error {
	var in codeInput
	if err := decode(r, &in); err != nil {
		return err
	}
	return a.completeSignIn(w, r, c, mfa.FactorTOTP, func(ctx context.Context) error {
		return a.MFA.VerifyTOTP(ctx, c.user.ID, in.Code)
	}, nil)
}

func (a *api) loginRecoveryCode(w http.ResponseWriter, r *http.Request, c caller) error {
	var in codeInput
	if err := decode(r, &in); err != nil {
		return err
	}
	left := 0
	extra := map[string]any{}
	return a.completeSignIn(w, r, c, mfa.FactorRecoveryCode, func(ctx context.Context) error {
		var err error
		left, err = a.MFA.UseRecoveryCode(ctx, c.user.ID, in.Code)
		extra["recovery_codes_remaining"] = left
		return err
	}, extra)
}

// ceremony is the start of a WebAuthn ceremony: the options for the
// browser, and the id to send back with its answer.
type ceremony struct {
	CeremonyID string `json:"ceremony_id"`
	Options    any    `json:"options"`
}

type ceremonyInput struct {
	CeremonyID string `json:"ceremony_id"`
	// Credential is the browser's PublicKeyCredential as JSON text
	// (JSON.stringify of it), which go-webauthn parses.
	Credential string `json:"credential"`
	Name       string `json:"name,omitempty"`
}

func (in ceremonyInput) credential() []byte { return []byte(in.Credential) }

func (a *api) loginPasskeyBegin(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if c.session.State != auth.SessionMFAPending {
		return errs.E(errs.Conflict, "no_pending_sign_in", "this session is not waiting for a second factor")
	}
	opts, id, err := a.MFA.BeginPasskeyLogin(r.Context(), accountOf(c.user))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ceremony{CeremonyID: id, Options: opts})
	return nil
}

func (a *api) loginPasskeyFinish(w http.ResponseWriter, r *http.Request, c caller) error {
	var in ceremonyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	return a.completeSignIn(w, r, c, mfa.FactorPasskey, func(ctx context.Context) error {
		_, err := a.MFA.FinishPasskeyLogin(ctx, accountOf(c.user), in.CeremonyID, in.credential())
		return err
	}, nil)
}

// passkeyBegin starts a sign-in with a passkey alone.
func (a *api) passkeyBegin(w http.ResponseWriter, r *http.Request, _ caller) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	opts, id, err := a.MFA.BeginDiscoverableLogin(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ceremony{CeremonyID: id, Options: opts})
	return nil
}

// passkeyFinish signs in with a passkey that verified its user (PIN or
// biometrics): two factors in one, so the session is active at once.
func (a *api) passkeyFinish(w http.ResponseWriter, r *http.Request, _ caller) error {
	var in ceremonyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	addr, _ := a.clientAddr(r)
	res, err := a.Identity.SignInWithPasskey(r.Context(), addr.String(), r.UserAgent(), func(ctx context.Context) (string, error) {
		userID, _, err := a.MFA.FinishDiscoverableLogin(ctx, in.CeremonyID, in.credential())
		return userID, err
	})
	if err != nil {
		retryAfter(w, err)
		return err
	}
	c := caller{user: res.User}
	a.securityEvent(r, c, &audit.Entry{Action: "signin.succeeded", ObjectType: "user", ObjectID: res.User.ID,
		Fields: []audit.Field{{Name: "factor", Value: jsonString(string(mfa.FactorPasskey))}}})
	return a.signedInAgain(w, r, res.User, res.Session, res.Secret, nil)
}

type reauthInput struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// reauthenticate is the step-up: the user's full authentication (their
// password and, if they have one, a code of their second factor) gives
// the session a new id that counts as fresh for mfa.StepUpWindow (ASVS
// 5.0 7.5.1).
func (a *api) reauthenticate(w http.ResponseWriter, r *http.Request, c caller) error {
	var in reauthInput
	if err := decode(r, &in); err != nil {
		return err
	}
	addr, _ := a.clientAddr(r)
	sess, secret, err := a.Identity.Reauthenticate(r.Context(), c.session, addr.String(), in.Password, in.Code)
	if err != nil {
		retryAfter(w, err)
		if errs.KindOf(err) == errs.Unauthorized {
			a.securityEvent(r, c, &audit.Entry{Action: "reauthentication.failed", ObjectType: "user", ObjectID: c.user.ID})
		}
		return err
	}
	a.securityEvent(r, c, &audit.Entry{Action: "reauthentication.succeeded", ObjectType: "user", ObjectID: c.user.ID})
	return a.signedInAgain(w, r, c.user, sess, secret, nil)
}

// mfaStatus is what second factors the user has, and whether passkeys
// are available on this server.
type mfaStatus struct {
	mfa.Factors
	PasskeysEnabled bool `json:"passkeys_enabled"`
}

func (a *api) getMFA(w http.ResponseWriter, r *http.Request, c caller) error {
	f, err := a.MFA.FactorsOf(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mfaStatus{Factors: f, PasskeysEnabled: a.MFA.WebAuthn != nil})
	return nil
}

func (a *api) beginTOTP(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	enr, err := a.MFA.BeginTOTP(r.Context(), accountOf(c.user))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, enr)
	return nil
}

// recoveryCodes answers with codes shown once ([] when none are new).
func recoveryCodes(w http.ResponseWriter, status int, codes []string) {
	if codes == nil {
		codes = []string{}
	}
	writeJSON(w, status, map[string][]string{"recovery_codes": codes})
}

func (a *api) confirmTOTP(w http.ResponseWriter, r *http.Request, c caller) error {
	var in codeInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	codes, err := a.MFA.ConfirmTOTP(r.Context(), c.user.ID, in.Code)
	if err != nil {
		return err
	}
	recoveryCodes(w, http.StatusOK, codes)
	return nil
}

func (a *api) removeTOTP(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := a.stepUp(c); err != nil {
		return err
	}
	if err := a.MFA.RemoveTOTP(r.Context(), c.user.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	codes, err := a.MFA.RegenerateRecoveryCodes(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	recoveryCodes(w, http.StatusOK, codes)
	return nil
}

func (a *api) listPasskeys(w http.ResponseWriter, r *http.Request, c caller) error {
	ps, err := a.MFA.ListPasskeys(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []*mfa.Passkey{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ps, "has_more": false})
	return nil
}

func (a *api) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	opts, id, err := a.MFA.BeginPasskeyRegistration(r.Context(), accountOf(c.user))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ceremony{CeremonyID: id, Options: opts})
	return nil
}

func (a *api) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request, c caller) error {
	var in ceremonyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	p, codes, err := a.MFA.FinishPasskeyRegistration(r.Context(), accountOf(c.user), in.CeremonyID, in.Name, in.credential())
	if err != nil {
		return err
	}
	if codes == nil {
		codes = []string{}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"passkey": p, "recovery_codes": codes})
	return nil
}

type passkeyNameInput struct {
	Name string `json:"name"`
}

// renamePasskey renames a passkey: cosmetic, so no step-up.
func (a *api) renamePasskey(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "pkey", "passkey")
	if err != nil {
		return err
	}
	var in passkeyNameInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := a.MFA.RenamePasskey(r.Context(), c.user.ID, id, in.Name); err != nil {
		return err
	}
	ps, err := a.MFA.ListPasskeys(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.ID == id {
			writeJSON(w, http.StatusOK, p)
			return nil
		}
	}
	return errs.NotFoundf("passkey", id)
}

func (a *api) removePasskey(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "pkey", "passkey")
	if err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	if err := a.MFA.RemovePasskey(r.Context(), c.user.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// orgMFA is the organization's "MFA required for every member" setting.
type orgMFA struct {
	Required bool `json:"required"`
}

func (a *api) getOrgMFA(w http.ResponseWriter, r *http.Request, c caller) error {
	req, err := a.MFA.RequiredFor(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orgMFA{Required: req})
	return nil
}

// setOrgMFA turns the requirement on or off (owners and admins: the
// organization's write permission).
func (a *api) setOrgMFA(w http.ResponseWriter, r *http.Request, c caller) error {
	var in orgMFA
	if err := decode(r, &in); err != nil {
		return err
	}
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, err := a.MFA.RequiredFor(ctx, c.orgID)
		if err != nil {
			return nil, err
		}
		if err := a.MFA.SetRequired(ctx, c.orgID, in.Required); err != nil {
			return nil, err
		}
		return &audit.Entry{Action: "organization.mfa_required_changed", ObjectType: "organization", ObjectID: c.orgID,
			Fields: []audit.Field{{Name: "required_before", Value: jsonBool(before)}, {Name: "required", Value: jsonBool(in.Required)}}}, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

func jsonBool(b bool) json.RawMessage { return json.RawMessage(strconv.FormatBool(b)) }
