package auth

import (
	"context"
	"time"
)

// SignInFederated starts a session for the user whom verify proves by an
// organization's identity provider (internal/auth/sso), with the rules of
// a password sign-in: the attempt is counted in the address's sign-in
// throttle (a refused one stays counted), the session gets a new id, and
// it waits for Bursar's second factor if the user has one. The provider's
// own authentication methods are not taken for a second factor: Bursar
// cannot tell what they proved (docs/security/sso.md).
func (s *Identity) SignInFederated(ctx context.Context, address, userAgent string, verify func(ctx context.Context) (string, error)) (*LoginResult, error) {
	u, now, err := s.verifiedUser(ctx, address, verify)
	if err != nil {
		return nil, err
	}
	state := SessionActive
	if s.SecondFactor != nil {
		has, err := s.SecondFactor.HasSecondFactor(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if has {
			state = SessionMFAPending
		}
	}
	sess, secret, err := s.startSession(ctx, u.ID, state, userAgent, now, now.Add(s.absolute()))
	if err != nil {
		return nil, err
	}
	return &LoginResult{User: u, Session: sess, Secret: secret, MFARequired: state == SessionMFAPending}, nil
}

// verifiedUser runs a sign-in that verify proves without a password (a
// provider's ID token, a passkey alone): the attempt is counted in the
// address's sign-in throttle and given back when verify names a user, who
// must exist and not be disabled.
func (s *Identity) verifiedUser(ctx context.Context, address string, verify func(ctx context.Context) (string, error)) (*User, time.Time, error) {
	now := s.Now().UTC()
	addr := addressSubject(address)
	prev, err := s.spend(ctx, addr, addressPolicy, now)
	if err != nil {
		return nil, now, err
	}
	userID, err := verify(ctx)
	if err != nil {
		return nil, now, err
	}
	s.giveBack(ctx, addr, prev, now)
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return nil, now, err
	}
	if u.DisabledAt != nil {
		return nil, now, errSignInFailed
	}
	return u, now, nil
}
