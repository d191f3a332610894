package mfa

import (
	"context"
	"errors"
)

// VerifySecondFactor checks a code that the user typed: a TOTP code (six
// digits) or else a recovery code, each accepted once. A refused code is
// false with a nil error, and is recorded like every failed verification.
// It lets a *Service serve as the identity service's auth.SecondFactor,
// for the password reset, which never bypasses MFA.
func (s *Service) VerifySecondFactor(ctx context.Context, userID, code string) (bool, error) {
	var err error
	if isTOTPCode(code) {
		err = s.VerifyTOTP(ctx, userID, code)
	} else {
		_, err = s.UseRecoveryCode(ctx, userID, code)
	}
	if errors.Is(err, ErrVerification) {
		return false, nil
	}
	return err == nil, err
}

// isTOTPCode reports whether code has the form of a TOTP code.
func isTOTPCode(code string) bool {
	if len(code) != TOTPDigits {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
