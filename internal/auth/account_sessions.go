package auth

import (
	"context"

	"bursar/internal/errs"
)

// DisableUser disables the account and ends every session of it: it
// signs in by no pathway until EnableUser (ASVS 5.0 7.4.2). It reports
// how many sessions it ended.
func (s *Identity) DisableUser(ctx context.Context, userID string) (int64, error) {
	now := s.Now().UTC()
	var n int64
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.SetUserDisabled(ctx, userID, true, now); err != nil {
			return err
		}
		var err error
		n, err = s.Store.RevokeUserSessions(ctx, userID, "", now)
		return err
	})
	return n, err
}

// EnableUser lets a disabled account sign in again.
func (s *Identity) EnableUser(ctx context.Context, userID string) error {
	return s.Store.SetUserDisabled(ctx, userID, false, s.Now().UTC())
}

// EndMemberSessions is an administrator ending every session of a member
// of their organization (ASVS 5.0 7.4.5): sessions are the user's, not
// the organization's, so all of them end and the member signs in afresh.
// An admin may not end an owner's (as Outranks); an actorRole of "" (an
// API key with users:write) may.
func (s *Identity) EndMemberSessions(ctx context.Context, orgID string, actorRole Role, userID string) (int64, error) {
	m, err := s.Store.GetMembership(ctx, orgID, userID)
	if err != nil {
		return 0, err
	}
	if actorRole != "" && !Outranks(actorRole, m.Role) {
		return 0, errs.E(errs.Forbidden, "role_too_high", "only an owner may end an owner's sessions")
	}
	return s.Store.RevokeUserSessions(ctx, userID, "", s.Now().UTC())
}
