// Package mfa is Bursar's multi-factor authentication: TOTP (RFC 6238),
// single-use recovery codes and WebAuthn passkeys, the organization setting
// that makes a second factor mandatory, and the step-up rule for sensitive
// changes. It knows users only by id; the login code asks it whether a user
// has a second factor and to verify one. docs/security/mfa.md explains the
// rules.
package mfa

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"bursar/internal/errs"
)

// Factor names a kind of second factor.
type Factor string

// The factors.
const (
	FactorTOTP         Factor = "totp"
	FactorPasskey      Factor = "passkey"
	FactorRecoveryCode Factor = "recovery_code"
)

// Account is the user a factor is enrolled for: the id names the user
// everywhere; email and name are what authenticator apps and passkey
// managers show.
type Account struct {
	UserID string
	Email  string
	Name   string
}

// TOTP is a user's TOTP secret as stored: sealed, pending until a first
// code confirms it.
type TOTP struct {
	UserID string
	// Secret is the sealed secret (see Sealer).
	Secret      []byte
	ConfirmedAt *time.Time
	// LastStep is the greatest time step whose code was accepted; codes
	// of that step and earlier are refused.
	LastStep  int64
	CreatedAt time.Time
}

// Passkey is a WebAuthn credential of a user.
type Passkey struct {
	ID     string `json:"id"`
	UserID string `json:"-"`
	Name   string `json:"name"`
	// Credential is what go-webauthn verifies assertions with. Its
	// Authenticator.SignCount and CloneWarning mirror the fields below,
	// which the store keeps in columns of their own.
	Credential   webauthn.Credential `json:"-"`
	SignCount    uint32              `json:"-"`
	CloneWarning bool                `json:"clone_warning"`
	CreatedAt    time.Time           `json:"created_at"`
	LastUsedAt   *time.Time          `json:"last_used_at"`
}

// CeremonyKind says what a WebAuthn ceremony is for.
type CeremonyKind string

// The ceremony kinds.
const (
	CeremonyRegister CeremonyKind = "register" // adding a passkey
	CeremonyLogin    CeremonyKind = "login"    // a passkey as second factor of a known user
	CeremonyPasskey  CeremonyKind = "passkey"  // signing in with a passkey alone
)

// Ceremony is a WebAuthn ceremony in progress, kept server-side so that
// any replica can finish it, once.
type Ceremony struct {
	ID        string
	UserID    string // "" for CeremonyPasskey: the user is not known yet
	Kind      CeremonyKind
	Session   webauthn.SessionData
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is what the mfa package needs from storage. Every method that
// reports success as a bool does so from one conditional statement, so
// that concurrent callers on several replicas cannot both succeed.
type Store interface {
	// InTx runs fn in one transaction (see sqlstore.Store.InTx).
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	// PutPendingTOTP stores a new unconfirmed secret for the user,
	// replacing an unconfirmed one; it reports a Conflict with code
	// "totp_enabled" if the user has a confirmed secret.
	PutPendingTOTP(ctx context.Context, t *TOTP) error
	// GetTOTP reads the user's secret, or reports NotFound.
	GetTOTP(ctx context.Context, userID string) (*TOTP, error)
	// ConfirmTOTP makes the pending secret active with step as the last
	// accepted step; false if there is no pending secret.
	ConfirmTOTP(ctx context.Context, userID string, step int64, at time.Time) (bool, error)
	// AcceptTOTPStep records step as the last accepted step if the user's
	// secret is confirmed and its last step is smaller; false otherwise.
	AcceptTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// DeleteTOTP removes the user's secret, confirmed or not; NotFound if
	// there is none.
	DeleteTOTP(ctx context.Context, userID string) error

	// ReplaceRecoveryCodes replaces all of the user's codes by the hashes.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error
	// UseRecoveryCode marks the unused code with the hash used; false if
	// the user has no such unused code.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) (bool, error)
	// CountRecoveryCodes counts the user's unused codes.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// DeleteRecoveryCodes removes all of the user's codes.
	DeleteRecoveryCodes(ctx context.Context, userID string) error

	// InsertPasskey stores a new passkey; its credential id is unique
	// across all users (Conflict otherwise).
	InsertPasskey(ctx context.Context, p *Passkey) error
	// ListPasskeys lists the user's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]*Passkey, error)
	// GetPasskeyByCredentialID finds a passkey of any user by the id the
	// authenticator gave it, or reports NotFound.
	GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// RenamePasskey renames one of the user's passkeys.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey removes one of the user's passkeys and returns it.
	DeletePasskey(ctx context.Context, userID, id string) (*Passkey, error)
	// AdvancePasskeyCounter records a use of the passkey with the
	// authenticator's signature counter: true if count is greater than
	// the stored one, or both are zero (an authenticator without a
	// counter); false otherwise, and then it changes nothing.
	AdvancePasskeyCounter(ctx context.Context, userID, id string, count uint32, at time.Time) (bool, error)
	// FlagPasskeyClone marks the passkey as possibly cloned.
	FlagPasskeyClone(ctx context.Context, userID, id string) error

	// InsertCeremony stores a ceremony in progress.
	InsertCeremony(ctx context.Context, c *Ceremony) error
	// TakeCeremony deletes the ceremony of the id and kind and returns
	// it, expired or not, or reports NotFound: each is used at most once.
	TakeCeremony(ctx context.Context, id string, kind CeremonyKind) (*Ceremony, error)
	// DeleteExpiredCeremonies deletes the ceremonies that expired before
	// now and returns how many.
	DeleteExpiredCeremonies(ctx context.Context, now time.Time) (int64, error)

	// OrgMFARequired reports whether the organization requires a second
	// factor of every member.
	OrgMFARequired(ctx context.Context, orgID string) (bool, error)
	// SetOrgMFARequired changes that setting.
	SetOrgMFARequired(ctx context.Context, orgID string, required bool, at time.Time) error
}

// Sealer encrypts secrets at rest, bound to where they are stored. Its
// methods are those of *vault.Vault, which is meant to be passed here: the
// owner is the scope whose keys seal the value ("user:" and the user's id
// for a TOTP secret), and a sealed value opens only for the same owner,
// table, column and row.
type Sealer interface {
	Seal(ctx context.Context, owner, table, column, rowID string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, owner, table, column, rowID string, ciphertext []byte) ([]byte, error)
}

// Service runs the MFA rules against a Store.
type Service struct {
	Store  Store
	Sealer Sealer
	// WebAuthn is the relying party configuration; nil disables passkeys.
	// Its Timeouts need not be enforced: ceremonies expire after
	// CeremonyTTL on Now's clock.
	WebAuthn *webauthn.WebAuthn
	// Issuer names Bursar in authenticator apps ("Bursar").
	Issuer string
	// Now is the clock; nil means time.Now. TOTP codes are checked on it,
	// never on a time the client sends (ASVS 6.5.8).
	Now func() time.Time
	// Rand is the source of secrets and codes; nil means crypto/rand.
	Rand io.Reader
	// Record, if set, receives every security event (see Event). Events
	// of a change are recorded in the change's transaction, and an error
	// undoes the change; a failed verification changes nothing and is
	// recorded without a transaction of the Service's.
	Record func(ctx context.Context, e Event) error
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) random(b []byte) error {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	_, err := io.ReadFull(r, b)
	return err
}

// record passes an event to Record.
func (s *Service) record(ctx context.Context, e Event) error {
	if s.Record == nil {
		return nil
	}
	e.Time = s.now()
	return s.Record(ctx, e)
}

// failed records a failed verification and returns the error that the
// caller shows: one message whatever the reason, so that it tells an
// attacker nothing. An error to record is joined to it, for the log.
func (s *Service) failed(ctx context.Context, userID string, f Factor, reason string) error {
	err := ErrVerification
	if rerr := s.record(ctx, Event{Action: ActionVerificationFailed, UserID: userID, Factor: f, Reason: reason}); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// ErrVerification is the error of a second factor that was refused: a
// wrong, reused or expired code, an unknown or cloned passkey, a ceremony
// that expired. It is Unauthorized with code "mfa_failed".
var ErrVerification = &errs.Error{Kind: errs.Unauthorized, Code: "mfa_failed", Message: "the second factor was not accepted"}

// Factors is what second factors a user has.
type Factors struct {
	TOTP          bool `json:"totp"`
	Passkeys      int  `json:"passkeys"`
	RecoveryCodes int  `json:"recovery_codes"` // unused ones
}

// Any reports whether the user has a second factor to sign in with.
// Recovery codes alone do not count: they back up another factor.
func (f Factors) Any() bool { return f.TOTP || f.Passkeys > 0 }

// FactorsOf reads what second factors the user has.
func (s *Service) FactorsOf(ctx context.Context, userID string) (Factors, error) {
	var f Factors
	t, err := s.Store.GetTOTP(ctx, userID)
	switch {
	case err == nil:
		f.TOTP = t.ConfirmedAt != nil
	case errs.KindOf(err) != errs.NotFound:
		return f, err
	}
	ps, err := s.Store.ListPasskeys(ctx, userID)
	if err != nil {
		return f, err
	}
	f.Passkeys = len(ps)
	if f.RecoveryCodes, err = s.Store.CountRecoveryCodes(ctx, userID); err != nil {
		return f, err
	}
	return f, nil
}

// HasSecondFactor reports whether the user has a confirmed TOTP secret or
// a passkey: whether a password sign-in must go on to a second factor.
func (s *Service) HasSecondFactor(ctx context.Context, userID string) (bool, error) {
	f, err := s.FactorsOf(ctx, userID)
	return f.Any(), err
}
