package mfa

import (
	"context"
	"time"
)

// RequiredFor reports whether the organization requires a second factor
// of every member ("MFA required for every member").
func (s *Service) RequiredFor(ctx context.Context, orgID string) (bool, error) {
	return s.Store.OrgMFARequired(ctx, orgID)
}

// SetRequired changes the organization's setting. The caller checks that
// the acting user may (an owner or admin) and records the change in the
// audit log with the rest of the organization's settings.
func (s *Service) SetRequired(ctx context.Context, orgID string, required bool) error {
	return s.Store.SetOrgMFARequired(ctx, orgID, required, s.now())
}

// MustEnrol reports whether the user, signed in to the organization, must
// enrol a second factor before anything else: the organization requires
// one and the user has none. The login code sends such a user to the
// enrolment page and allows nothing else until it is done.
func (s *Service) MustEnrol(ctx context.Context, orgID, userID string) (bool, error) {
	required, err := s.RequiredFor(ctx, orgID)
	if err != nil || !required {
		return false, err
	}
	has, err := s.HasSecondFactor(ctx, userID)
	return !has, err
}

// StepUpWindow is how long an authentication counts as fresh for a
// sensitive change.
const StepUpWindow = 5 * time.Minute

// stepUpSkew is how far in the future an authentication time may lie and
// still count: replicas' clocks differ by a little, never by minutes.
const stepUpSkew = 30 * time.Second

// Fresh reports whether a user who last proved their identity (password,
// second factor or passkey) at authenticatedAt may, at now, make a
// sensitive change without proving it again: changing their email,
// password or MFA factors (enrolling or removing TOTP or a passkey,
// regenerating recovery codes), or creating or revoking API keys (ASVS
// 7.5.1). It is fresh for StepUpWindow. A zero time, or one more than a
// few seconds ahead of now, is never fresh. When it is not, the handler
// asks the user to authenticate again and then records the new time in
// the session.
func Fresh(authenticatedAt, now time.Time) bool {
	if authenticatedAt.IsZero() {
		return false
	}
	age := now.Sub(authenticatedAt)
	return age >= -stepUpSkew && age <= StepUpWindow
}
