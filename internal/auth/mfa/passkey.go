package mfa

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"bursar/internal/errs"
	"bursar/internal/ident"
)

// CeremonyTTL is how long a WebAuthn ceremony may take from begin to
// finish: the browser's default timeout.
const CeremonyTTL = 5 * time.Minute

// MaxPasskeyName is the longest name of a passkey, in characters.
const MaxPasskeyName = 64

// ErrPasskeysDisabled reports that no WebAuthn relying party is
// configured.
var ErrPasskeysDisabled = errs.E(errs.Conflict, "passkeys_disabled", "passkeys are not configured on this server")

// webauthnUser is a user as go-webauthn sees it. The user handle is the
// user's id: opaque, and the same on every passkey of the user.
type webauthnUser struct {
	a     Account
	creds []webauthn.Credential
}

func (u *webauthnUser) WebAuthnID() []byte                         { return []byte(u.a.UserID) }
func (u *webauthnUser) WebAuthnName() string                       { return u.a.Email }
func (u *webauthnUser) WebAuthnDisplayName() string                { return u.a.Name }
func (u *webauthnUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func credentialsOf(ps []*Passkey) []webauthn.Credential {
	creds := make([]webauthn.Credential, len(ps))
	for i, p := range ps {
		creds[i] = p.Credential
	}
	return creds
}

// beginCeremony stores the session data of a ceremony and returns its id,
// which the caller keeps in the user's server-side session (or a pending
// login) and passes to the finishing call.
func (s *Service) beginCeremony(ctx context.Context, kind CeremonyKind, userID string, sd *webauthn.SessionData) (string, error) {
	now := s.now()
	c := &Ceremony{ID: ident.New("wac", now), UserID: userID, Kind: kind, Session: *sd, CreatedAt: now, ExpiresAt: now.Add(CeremonyTTL)}
	if err := s.Store.InsertCeremony(ctx, c); err != nil {
		return "", err
	}
	return c.ID, nil
}

// takeCeremony uses up a ceremony; one that is unknown, of another kind or
// user, or expired is a failed verification.
func (s *Service) takeCeremony(ctx context.Context, id string, kind CeremonyKind, userID string) (*Ceremony, error) {
	c, err := s.Store.TakeCeremony(ctx, id, kind)
	if errs.KindOf(err) == errs.NotFound {
		return nil, s.failed(ctx, userID, FactorPasskey, ReasonExpired)
	}
	if err != nil {
		return nil, err
	}
	if c.UserID != userID || !s.now().Before(c.ExpiresAt) {
		return nil, s.failed(ctx, userID, FactorPasskey, ReasonExpired)
	}
	return c, nil
}

// BeginPasskeyRegistration starts adding a passkey for the user. It
// returns the options for navigator.credentials.create() and the ceremony
// id to pass to FinishPasskeyRegistration. The passkey is discoverable,
// so that it can later sign in alone. The caller checks Fresh first.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, a Account) (*protocol.CredentialCreation, string, error) {
	if s.WebAuthn == nil {
		return nil, "", ErrPasskeysDisabled
	}
	ps, err := s.Store.ListPasskeys(ctx, a.UserID)
	if err != nil {
		return nil, "", err
	}
	exclude := make([]protocol.CredentialDescriptor, len(ps))
	for i, p := range ps {
		exclude[i] = p.Credential.Descriptor()
	}
	creation, sd, err := s.WebAuthn.BeginRegistration(&webauthnUser{a: a, creds: credentialsOf(ps)},
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationPreferred}),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, "", fmt.Errorf("mfa: begin passkey registration: %w", err)
	}
	id, err := s.beginCeremony(ctx, CeremonyRegister, a.UserID, sd)
	return creation, id, err
}

// FinishPasskeyRegistration verifies the authenticator's response (the
// JSON of the PublicKeyCredential from navigator.credentials.create()) and
// stores the passkey under the name. It returns fresh recovery codes, to
// be shown once, when the user had no unused ones.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, a Account, ceremonyID, name string, response []byte) (*Passkey, []string, error) {
	if s.WebAuthn == nil {
		return nil, nil, ErrPasskeysDisabled
	}
	name, err := passkeyName(name)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.takeCeremony(ctx, ceremonyID, CeremonyRegister, a.UserID)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, nil, s.failed(ctx, a.UserID, FactorPasskey, ReasonInvalid)
	}
	ps, err := s.Store.ListPasskeys(ctx, a.UserID)
	if err != nil {
		return nil, nil, err
	}
	cred, err := s.WebAuthn.CreateCredential(&webauthnUser{a: a, creds: credentialsOf(ps)}, c.Session, parsed)
	if err != nil {
		return nil, nil, s.failed(ctx, a.UserID, FactorPasskey, ReasonInvalid)
	}
	now := s.now()
	p := &Passkey{ID: ident.New("pkey", now), UserID: a.UserID, Name: name, Credential: *cred,
		SignCount: cred.Authenticator.SignCount, CreatedAt: now}
	var codes []string
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.InsertPasskey(ctx, p); err != nil {
			return err
		}
		if codes, err = s.ensureRecoveryCodes(ctx, a.UserID); err != nil {
			return err
		}
		return s.record(ctx, Event{Action: ActionEnrolled, UserID: a.UserID, Factor: FactorPasskey, PasskeyID: p.ID, Name: p.Name})
	})
	if err != nil {
		return nil, nil, err
	}
	return p, codes, nil
}

// BeginPasskeyLogin starts a passkey sign-in as the second factor of a
// user who gave their password: the options for
// navigator.credentials.get() allow only the user's passkeys.
func (s *Service) BeginPasskeyLogin(ctx context.Context, a Account) (*protocol.CredentialAssertion, string, error) {
	if s.WebAuthn == nil {
		return nil, "", ErrPasskeysDisabled
	}
	ps, err := s.Store.ListPasskeys(ctx, a.UserID)
	if err != nil {
		return nil, "", err
	}
	if len(ps) == 0 {
		return nil, "", s.failed(ctx, a.UserID, FactorPasskey, ReasonNotEnrolled)
	}
	assertion, sd, err := s.WebAuthn.BeginLogin(&webauthnUser{a: a, creds: credentialsOf(ps)},
		webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, "", fmt.Errorf("mfa: begin passkey login: %w", err)
	}
	id, err := s.beginCeremony(ctx, CeremonyLogin, a.UserID, sd)
	return assertion, id, err
}

// FinishPasskeyLogin verifies the assertion (the JSON of the
// PublicKeyCredential from navigator.credentials.get()) of a second-factor
// sign-in begun by BeginPasskeyLogin. Any failure is ErrVerification and
// is recorded.
func (s *Service) FinishPasskeyLogin(ctx context.Context, a Account, ceremonyID string, response []byte) (*Passkey, error) {
	if s.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	c, err := s.takeCeremony(ctx, ceremonyID, CeremonyLogin, a.UserID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, s.failed(ctx, a.UserID, FactorPasskey, ReasonInvalid)
	}
	ps, err := s.Store.ListPasskeys(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	if _, err := s.WebAuthn.ValidateLogin(&webauthnUser{a: a, creds: credentialsOf(ps)}, c.Session, parsed); err != nil {
		return nil, s.failed(ctx, a.UserID, FactorPasskey, ReasonInvalid)
	}
	return s.usePasskey(ctx, a.UserID, ps, parsed)
}

// BeginDiscoverableLogin starts a sign-in with a passkey alone, the user
// not yet known: the authenticator offers its passkeys for this site and
// must verify the user (PIN or biometrics), so that the passkey is two
// factors in one.
func (s *Service) BeginDiscoverableLogin(ctx context.Context) (*protocol.CredentialAssertion, string, error) {
	if s.WebAuthn == nil {
		return nil, "", ErrPasskeysDisabled
	}
	assertion, sd, err := s.WebAuthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", fmt.Errorf("mfa: begin discoverable login: %w", err)
	}
	id, err := s.beginCeremony(ctx, CeremonyPasskey, "", sd)
	return assertion, id, err
}

// FinishDiscoverableLogin verifies the assertion of a sign-in begun by
// BeginDiscoverableLogin and returns the user it proves, by id, and the
// passkey used. Any failure is ErrVerification and is recorded.
func (s *Service) FinishDiscoverableLogin(ctx context.Context, ceremonyID string, response []byte) (userID string, p *Passkey, err error) {
	if s.WebAuthn == nil {
		return "", nil, ErrPasskeysDisabled
	}
	c, err := s.takeCeremony(ctx, ceremonyID, CeremonyPasskey, "")
	if err != nil {
		return "", nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return "", nil, s.failed(ctx, "", FactorPasskey, ReasonInvalid)
	}
	var ps []*Passkey
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		p, err := s.Store.GetPasskeyByCredentialID(ctx, rawID)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal([]byte(p.UserID), userHandle) {
			return nil, errors.New("mfa: user handle does not name the passkey's owner")
		}
		userID = p.UserID
		if ps, err = s.Store.ListPasskeys(ctx, userID); err != nil {
			return nil, err
		}
		return &webauthnUser{a: Account{UserID: userID}, creds: credentialsOf(ps)}, nil
	}
	// go-webauthn wraps the handler's errors in its own: an unknown
	// credential and a store that failed both end here, refused.
	if _, _, err := s.WebAuthn.ValidatePasskeyLogin(handler, c.Session, parsed); err != nil {
		return "", nil, s.failed(ctx, userID, FactorPasskey, ReasonInvalid)
	}
	p, err = s.usePasskey(ctx, userID, ps, parsed)
	if err != nil {
		return "", nil, err
	}
	return userID, p, nil
}

// usePasskey records a verified use of one of the user's passkeys. The
// signature counter must grow (or stay zero on an authenticator that has
// none): one that does not means two authenticators hold the key, or a
// replay, and the passkey is flagged and refused from then on.
func (s *Service) usePasskey(ctx context.Context, userID string, ps []*Passkey, parsed *protocol.ParsedCredentialAssertionData) (*Passkey, error) {
	var p *Passkey
	for _, q := range ps {
		if bytes.Equal(q.Credential.ID, parsed.RawID) {
			p = q
		}
	}
	if p == nil { // go-webauthn verified against one of ps
		return nil, fmt.Errorf("mfa: verified passkey %s of %s is not the user's", base64.RawURLEncoding.EncodeToString(parsed.RawID), userID)
	}
	if p.CloneWarning {
		return nil, s.failed(ctx, userID, FactorPasskey, ReasonCloneDetected)
	}
	count := parsed.Response.AuthenticatorData.Counter
	now := s.now()
	ok, err := s.Store.AdvancePasskeyCounter(ctx, userID, p.ID, count, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := s.Store.FlagPasskeyClone(ctx, userID, p.ID); err != nil {
			return nil, err
		}
		return nil, s.failed(ctx, userID, FactorPasskey, ReasonCloneDetected)
	}
	p.SignCount, p.Credential.Authenticator.SignCount, p.LastUsedAt = count, count, &now
	return p, nil
}

// ListPasskeys lists the user's passkeys, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, userID string) ([]*Passkey, error) {
	return s.Store.ListPasskeys(ctx, userID)
}

// RenamePasskey renames one of the user's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, userID, id, name string) error {
	name, err := passkeyName(name)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.RenamePasskey(ctx, userID, id, name); err != nil {
			return err
		}
		return s.record(ctx, Event{Action: ActionRenamed, UserID: userID, Factor: FactorPasskey, PasskeyID: id, Name: name})
	})
}

// RemovePasskey removes one of the user's passkeys: it no longer signs in,
// from the next request on. The caller checks Fresh first.
func (s *Service) RemovePasskey(ctx context.Context, userID, id string) error {
	return s.Store.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Store.DeletePasskey(ctx, userID, id)
		if err != nil {
			return err
		}
		return s.record(ctx, Event{Action: ActionRemoved, UserID: userID, Factor: FactorPasskey, PasskeyID: p.ID, Name: p.Name})
	})
}

// passkeyName checks and trims a passkey's name.
func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	var f errs.Fields
	switch {
	case name == "":
		f.Add("name", "is required")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxPasskeyName:
		f.Add("name", "must be valid text of at most %d characters", MaxPasskeyName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		f.Add("name", "must not contain control characters")
	}
	return name, f.Err()
}
