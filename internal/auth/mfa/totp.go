package mfa

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"bursar/internal/errs"
)

// The TOTP parameters: those every authenticator app understands
// (HMAC-SHA-1, six digits, 30-second steps), a 160-bit secret (RFC 4226
// §4), and one step of drift either way (RFC 6238 §5.2).
const (
	TOTPPeriod     = 30 * time.Second
	TOTPDigits     = 6
	TOTPDrift      = 1
	totpSecretSize = 20
)

// DefaultIssuer names Bursar in authenticator apps when Service.Issuer is
// empty.
const DefaultIssuer = "Bursar"

// Where a TOTP secret is sealed: the associated data of its ciphertext.
const (
	totpTable  = "mfa_totp"
	totpColumn = "secret"
)

// UserOwner is the owner under which a user's secrets are sealed.
func UserOwner(userID string) string { return "user:" + userID }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// TOTPEnrolment is what the user sees to add Bursar to an authenticator
// app: the otpauth:// URI (for a QR code) and the secret itself (to type
// in). It is shown once, while enrolment is pending.
type TOTPEnrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"`
}

// BeginTOTP starts enrolment: it makes a random secret, stores it sealed
// and pending, and returns it for the user's app. A pending secret that
// was never confirmed is replaced. A user with a confirmed secret must
// remove it first (Conflict, "totp_enabled").
func (s *Service) BeginTOTP(ctx context.Context, a Account) (*TOTPEnrolment, error) {
	raw := make([]byte, totpSecretSize)
	if err := s.random(raw); err != nil {
		return nil, fmt.Errorf("mfa: totp secret: %w", err)
	}
	issuer := s.Issuer
	if issuer == "" {
		issuer = DefaultIssuer
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: a.Email, Secret: raw,
		Period: uint(TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("mfa: totp key: %w", err)
	}
	sealed, err := s.Sealer.Seal(ctx, UserOwner(a.UserID), totpTable, totpColumn, a.UserID, raw)
	if err != nil {
		return nil, fmt.Errorf("mfa: seal totp secret: %w", err)
	}
	if err := s.Store.PutPendingTOTP(ctx, &TOTP{UserID: a.UserID, Secret: sealed, CreatedAt: s.now()}); err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Secret: key.Secret(), URI: key.URL()}, nil
}

// ConfirmTOTP activates the pending secret with a first code from the
// user's app. It returns fresh recovery codes, to be shown once, when the
// user had no unused ones; nil otherwise.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) (recoveryCodes []string, err error) {
	t, err := s.Store.GetTOTP(ctx, userID)
	if errs.KindOf(err) == errs.NotFound {
		return nil, s.failed(ctx, userID, FactorTOTP, ReasonNotEnrolled)
	}
	if err != nil {
		return nil, err
	}
	if t.ConfirmedAt != nil {
		return nil, errs.E(errs.Conflict, "totp_enabled", "TOTP is already enabled")
	}
	steps, err := s.matchingSteps(ctx, t, code)
	if err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		return nil, s.failed(ctx, userID, FactorTOTP, ReasonWrongCode)
	}
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		ok, err := s.Store.ConfirmTOTP(ctx, userID, steps[0], s.now())
		if err != nil {
			return err
		}
		if !ok { // confirmed or replaced meanwhile
			return ErrVerification
		}
		if recoveryCodes, err = s.ensureRecoveryCodes(ctx, userID); err != nil {
			return err
		}
		return s.record(ctx, Event{Action: ActionEnrolled, UserID: userID, Factor: FactorTOTP})
	})
	if err == ErrVerification { //nolint:errorlint // the sentinel itself, never wrapped here
		return nil, s.failed(ctx, userID, FactorTOTP, ReasonReplayed)
	}
	return recoveryCodes, err
}

// VerifyTOTP checks a code of the user's confirmed secret at Now: the code
// of the current 30-second step or of one step before or after, each
// accepted once. Once a code is accepted, codes of its step and earlier
// steps are refused, on every replica: the last accepted step is advanced
// by one conditional write. Any failure is ErrVerification and is
// recorded.
func (s *Service) VerifyTOTP(ctx context.Context, userID, code string) error {
	t, err := s.Store.GetTOTP(ctx, userID)
	if errs.KindOf(err) == errs.NotFound || (err == nil && t.ConfirmedAt == nil) {
		return s.failed(ctx, userID, FactorTOTP, ReasonNotEnrolled)
	}
	if err != nil {
		return err
	}
	steps, err := s.matchingSteps(ctx, t, code)
	if err != nil {
		return err
	}
	if len(steps) == 0 {
		return s.failed(ctx, userID, FactorTOTP, ReasonWrongCode)
	}
	for _, step := range steps {
		ok, err := s.Store.AcceptTOTPStep(ctx, userID, step)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return s.failed(ctx, userID, FactorTOTP, ReasonReplayed)
}

// RemoveTOTP removes the user's TOTP secret, confirmed or pending. The
// caller checks Fresh first.
func (s *Service) RemoveTOTP(ctx context.Context, userID string) error {
	return s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.DeleteTOTP(ctx, userID); err != nil {
			return err
		}
		return s.record(ctx, Event{Action: ActionRemoved, UserID: userID, Factor: FactorTOTP})
	})
}

// matchingSteps opens the secret and returns the steps among the current
// one and its neighbours whose code is code, the current step first.
func (s *Service) matchingSteps(ctx context.Context, t *TOTP, code string) ([]int64, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != TOTPDigits || strings.Trim(code, "0123456789") != "" {
		return nil, nil
	}
	secret, err := s.Sealer.Open(ctx, UserOwner(t.UserID), totpTable, totpColumn, t.UserID, t.Secret)
	if err != nil {
		return nil, fmt.Errorf("mfa: open totp secret of %s: %w", t.UserID, err)
	}
	now := TOTPStep(s.now())
	var steps []int64
	for _, step := range []int64{now, now - 1, now + 1} {
		want, err := totpCode(secret, step, otp.AlgorithmSHA1, otp.DigitsSix)
		if err != nil {
			return nil, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			steps = append(steps, step)
		}
	}
	return steps, nil
}

// TOTPStep is the RFC 6238 time step of t: whole periods since the Unix
// epoch.
func TOTPStep(t time.Time) int64 {
	return t.Unix() / int64(TOTPPeriod/time.Second)
}

// totpCode is the RFC 6238 code of the secret at the step: the HOTP
// (RFC 4226) of the step as counter.
func totpCode(secret []byte, step int64, alg otp.Algorithm, digits otp.Digits) (string, error) {
	if step < 0 {
		return "", fmt.Errorf("mfa: totp step %d before 1970", step)
	}
	code, err := hotp.GenerateCodeCustom(b32.EncodeToString(secret), uint64(step), hotp.ValidateOpts{Digits: digits, Algorithm: alg})
	if err != nil {
		return "", fmt.Errorf("mfa: totp code: %w", err)
	}
	return code, nil
}
