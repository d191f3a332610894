package auth

import (
	"context"

	"bursar/internal/auth/password"
	"bursar/internal/errs"
)

// A session's CreatedAt is when its user last proved who they are:
// every authentication (password, second factor, passkey, step-up) makes
// a new session id (Rotate), so the step-up rule (mfa.Fresh) reads it.

var errNotPending = errs.E(errs.Conflict, "no_pending_sign_in", "this session is not waiting for a second factor")

// CompleteSignIn checks the second factor of a sign-in that waits for it.
// The attempt counts in the sign-in throttle of the account and of the
// address like a password does, so a second factor is no easier to guess
// than a password; verify runs once it is counted. On success the account's
// count starts over and the session becomes active under a new id.
func (s *Identity) CompleteSignIn(ctx context.Context, sess *Session, address string, verify func(ctx context.Context) error) (*Session, Secret, error) {
	if sess.State != SessionMFAPending {
		return nil, "", errNotPending
	}
	if err := s.throttledCheck(ctx, sess.UserID, address, verify); err != nil {
		return nil, "", err
	}
	return s.CompleteSecondFactor(ctx, sess)
}

// Reauthenticate is the step-up of a signed-in user before a sensitive
// change, with the user's full authentication (ASVS 5.0 7.5.1): their
// password if they have one, and a code of their second factor (TOTP or
// recovery code) if they have one; a user with both gives both. The
// attempt counts in the sign-in throttle as one, whichever part is wrong,
// and the code is checked (and spent) only after a right password. On
// success the session gets a new id whose creation time is the fresh
// authentication that mfa.Fresh asks for.
func (s *Identity) Reauthenticate(ctx context.Context, sess *Session, address, pw, code string) (*Session, Secret, error) {
	if sess.State != SessionActive {
		return nil, "", errs.E(errs.Unauthorized, "mfa_required", "complete the second factor of this sign-in first")
	}
	u, err := s.Store.GetUser(ctx, sess.UserID)
	if err != nil {
		return nil, "", err
	}
	hasFactor := false
	if s.SecondFactor != nil {
		if hasFactor, err = s.SecondFactor.HasSecondFactor(ctx, u.ID); err != nil {
			return nil, "", err
		}
	}
	var f errs.Fields
	if u.PasswordHash != "" && pw == "" {
		f.Add("password", "give your password")
	}
	if hasFactor && code == "" {
		f.Add("code", "give a code of your second factor (authenticator app or recovery code)")
	}
	if u.PasswordHash == "" && !hasFactor {
		// A single sign-on user with neither: only their identity
		// provider can authenticate them again.
		return nil, "", errs.E(errs.Forbidden, "signin_required", "sign in again to confirm it is you")
	}
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	err = s.throttledCheck(ctx, u.ID, address, func(ctx context.Context) error {
		if u.PasswordHash != "" {
			if err := s.CheckPassword(ctx, u.ID, pw); err != nil {
				return err
			}
		}
		if hasFactor {
			ok, err := s.SecondFactor.VerifySecondFactor(ctx, u.ID, code)
			if err != nil {
				return err
			}
			if !ok {
				return errSignInFailed
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return s.Rotate(ctx, sess, SessionActive)
}

// CheckPassword verifies the user's password, for a step-up; a wrong one
// is the sign-in's one failure.
func (s *Identity) CheckPassword(ctx context.Context, userID, pw string) error {
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if ok, err := password.Verify(pw, u.PasswordHash); u.PasswordHash == "" || !ok || err != nil {
		return errSignInFailed
	}
	return nil
}

// SignInWithPasskey starts an active session for the user that verify
// proves by a passkey alone (mfa.Service.FinishDiscoverableLogin), the
// attempt counted in the address's sign-in throttle: a passkey that
// verified its user is two factors in one.
func (s *Identity) SignInWithPasskey(ctx context.Context, address, userAgent string, verify func(ctx context.Context) (string, error)) (*LoginResult, error) {
	u, now, err := s.verifiedUser(ctx, address, verify)
	if err != nil {
		return nil, err
	}
	sess, secret, err := s.startSession(ctx, u.ID, SessionActive, userAgent, now, now.Add(s.absolute()))
	if err != nil {
		return nil, err
	}
	return &LoginResult{User: u, Session: sess, Secret: secret}, nil
}

// throttledCheck counts an attempt of the user's account and of the
// address, then runs verify. A refused attempt stays counted, and every
// notifyEvery of them the user is mailed; a right one starts the
// account's count over and is given back to the address.
func (s *Identity) throttledCheck(ctx context.Context, userID, address string, verify func(ctx context.Context) error) error {
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	acct, addr := accountSubject(NormalizeEmail(u.Email)), addressSubject(address)
	prevAcct, err := s.spend(ctx, acct, accountPolicy, now)
	if err != nil {
		return err
	}
	prevAddr, err := s.spend(ctx, addr, addressPolicy, now)
	if err != nil {
		return err
	}
	if err := verify(ctx); err != nil {
		if n := prevAcct + 1; n%notifyEvery == 0 && errs.KindOf(err) == errs.Unauthorized {
			s.send(ctx, failedSignInMail(u, n))
		}
		return err
	}
	if err := s.Store.DeleteThrottle(ctx, acct); err != nil {
		return err
	}
	s.giveBack(ctx, addr, prevAddr, now)
	return nil
}
