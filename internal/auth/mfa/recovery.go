package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// RecoveryCodeCount is how many recovery codes a user is given at once.
const RecoveryCodeCount = 10

// recoveryCodeBytes is the entropy of a code: 120 bits. From 112 bits on,
// ASVS 6.5.2 allows a plain hash instead of a salted password hash; a
// plain hash lets a code be found and consumed by its hash in one
// conditional UPDATE, and guessing a code is hopeless either way.
const recoveryCodeBytes = 15

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code
// read aloud or typed from paper is not misread.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// newRecoveryCode returns a code as shown: 24 characters in six groups of
// four, "7KQ2-...".
func (s *Service) newRecoveryCode() (string, error) {
	b := make([]byte, recoveryCodeBytes)
	if err := s.random(b); err != nil {
		return "", fmt.Errorf("mfa: recovery code: %w", err)
	}
	raw := crockford.EncodeToString(b)
	var groups []string
	for i := 0; i < len(raw); i += 4 {
		groups = append(groups, raw[i:i+4])
	}
	return strings.Join(groups, "-"), nil
}

// normalizeRecoveryCode undoes what people do to a code when they copy
// it: case, spaces, dashes, and the letters Crockford's base32 reads as
// digits.
func normalizeRecoveryCode(code string) string {
	code = strings.ToUpper(code)
	return strings.NewReplacer("-", "", " ", "", "\t", "", "O", "0", "I", "1", "L", "1").Replace(code)
}

// recoveryCodeHash is what the store keeps of a code: SHA-256 of the
// normalized code, bound to the user.
func recoveryCodeHash(userID, code string) []byte {
	h := sha256.New()
	h.Write([]byte("bursar-recovery-code-v1\x00"))
	h.Write([]byte(userID))
	h.Write([]byte{0})
	h.Write([]byte(normalizeRecoveryCode(code)))
	return h.Sum(nil)
}

// RegenerateRecoveryCodes replaces all of the user's recovery codes, used
// or not, by RecoveryCodeCount new ones, and returns them to be shown
// once. The caller checks Fresh first.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	var codes []string
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		var err error
		codes, err = s.replaceRecoveryCodes(ctx, userID)
		return err
	})
	return codes, err
}

// ensureRecoveryCodes gives the user new codes if they have no unused
// one, as at their first enrolment; it returns them, or nil.
func (s *Service) ensureRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	n, err := s.Store.CountRecoveryCodes(ctx, userID)
	if err != nil || n > 0 {
		return nil, err
	}
	return s.replaceRecoveryCodes(ctx, userID)
}

func (s *Service) replaceRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		c, err := s.newRecoveryCode()
		if err != nil {
			return nil, err
		}
		codes[i], hashes[i] = c, recoveryCodeHash(userID, c)
	}
	if err := s.Store.ReplaceRecoveryCodes(ctx, userID, hashes, s.now()); err != nil {
		return nil, err
	}
	if err := s.record(ctx, Event{Action: ActionRecoveryCodesNew, UserID: userID, Factor: FactorRecoveryCode, Remaining: RecoveryCodeCount}); err != nil {
		return nil, err
	}
	return codes, nil
}

// UseRecoveryCode accepts one of the user's unused recovery codes in place
// of another second factor, and uses it up: of two requests with the same
// code, on any replicas, one succeeds. Any failure is ErrVerification and
// is recorded. A user who signs in with a recovery code should be told
// how many remain and offered to enrol a new factor.
func (s *Service) UseRecoveryCode(ctx context.Context, userID, code string) (remaining int, err error) {
	if len(normalizeRecoveryCode(code)) != crockford.EncodedLen(recoveryCodeBytes) {
		return 0, s.failed(ctx, userID, FactorRecoveryCode, ReasonWrongCode)
	}
	hash := recoveryCodeHash(userID, code)
	used := false
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		ok, err := s.Store.UseRecoveryCode(ctx, userID, hash, s.now())
		if err != nil || !ok {
			return err
		}
		used = true
		if remaining, err = s.Store.CountRecoveryCodes(ctx, userID); err != nil {
			return err
		}
		return s.record(ctx, Event{Action: ActionRecoveryCodeUsed, UserID: userID, Factor: FactorRecoveryCode, Remaining: remaining})
	})
	if err != nil {
		return 0, err
	}
	if !used {
		return 0, s.failed(ctx, userID, FactorRecoveryCode, ReasonWrongCode)
	}
	return remaining, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return s.Store.CountRecoveryCodes(ctx, userID)
}
