package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/errs"
	"bursar/internal/page"
	"bursar/internal/vault"
)

const userCols = "id, email, name, created_at, password_hash, email_verified_at, disabled_at"

// User emails are sealed under the user's own keys (mfa.UserOwner, as the
// user's TOTP seed): a user belongs to no one organization. They are found
// by a blind index keyed by the installation's index key (serverIndex),
// since sign-in looks the user up by email before knowing who it is.

// serverIndex is the blind index of a normalized value looked up before
// its owner is known (an email at sign-in), keyed by the installation's
// index key (vault.ServerOwner) over the place "identity" and column. It
// hashes an email alike in users and invitations, so an address's
// invitations and its account match. Without a vault it is the value
// itself, as every index of a store in clear.
func (s *Store) serverIndex(ctx context.Context, column, normalized string) (string, error) {
	if s.vault == nil {
		return normalized, nil
	}
	return s.vault.BlindIndex(ctx, vault.ServerOwner, "identity", column, normalized)
}

// emailIndexes are the values of email_bidx that find email: its blind
// index, and its normalized form, which rows written before sealing hold
// until the re-encryption job seals them (migration 0010). An address
// (with its @) never equals a blind index (base64url).
func (s *Store) emailIndexes(ctx context.Context, email string) (bidx, legacy string, err error) {
	legacy = vault.NormalizeEmail(email)
	bidx, err = s.serverIndex(ctx, "email", legacy)
	return bidx, legacy, err
}

// openUserEmail opens a user's email read from the database.
func (s *Store) openUserEmail(ctx context.Context, userID string, email *string) error {
	x := s.opener(ctx, mfa.UserOwner(userID), "users", userID)
	x.open("email", email)
	return x.err
}

func (s *Store) scanUser(ctx context.Context, sc scanner) (*auth.User, error) {
	var u auth.User
	if err := sc.Scan(&u.ID, &u.Email, &u.Name, timeDest{&u.CreatedAt}, &u.PasswordHash, nullTimeDest{&u.EmailVerifiedAt}, nullTimeDest{&u.DisabledAt}); err != nil {
		return nil, err
	}
	return &u, s.openUserEmail(ctx, u.ID, &u.Email)
}

// InsertUser stores a new user; the email is unique, compared
// case-insensitively through its blind index.
func (s *Store) InsertUser(ctx context.Context, u *auth.User) error {
	bidx, legacy, err := s.emailIndexes(ctx, u.Email)
	if err != nil {
		return s.fail(err, "insert", "user", u.ID)
	}
	if bidx != legacy {
		// The unique index cannot see a row written before sealing,
		// whose index is still the address itself.
		var n int
		if err := s.queryRow(ctx, "SELECT COUNT(*) FROM users WHERE email_bidx = ?", legacy).Scan(&n); err != nil {
			return s.fail(err, "insert", "user", u.ID)
		}
		if n > 0 {
			return errs.E(errs.Conflict, "already_exists", "user %q repeats the email of an existing one", u.ID)
		}
	}
	x := s.sealer(ctx, mfa.UserOwner(u.ID), "users", u.ID)
	email := x.text("email", u.Email)
	if x.err != nil {
		return s.fail(x.err, "insert", "user", u.ID)
	}
	if _, err := s.exec(ctx, "INSERT INTO users (id, email, email_bidx, name, created_at, password_hash, email_verified_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		u.ID, email, bidx, u.Name, stamp(&u.CreatedAt), u.PasswordHash, stampPtr(&u.EmailVerifiedAt)); err != nil {
		return s.fail(err, "insert", "user", u.ID)
	}
	return nil
}

// GetUser reads a user by id.
func (s *Store) GetUser(ctx context.Context, id string) (*auth.User, error) {
	u, err := s.scanUser(ctx, s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
	if err := s.getOne(err, "user", id); err != nil {
		return nil, err
	}
	return u, nil
}

// GetUserByEmail finds a user by email, case-insensitively, through the
// email's blind index.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*auth.User, error) {
	bidx, legacy, err := s.emailIndexes(ctx, email)
	if err != nil {
		return nil, s.fail(err, "get", "user", "(by email)")
	}
	u, err := s.scanUser(ctx, s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE email_bidx IN (?, ?)", bidx, legacy))
	if err := s.getOne(err, "user", "(by email)"); err != nil {
		return nil, err
	}
	return u, nil
}

// SetUserPassword stores a new password hash of the user.
func (s *Store) SetUserPassword(ctx context.Context, id, hash string, at time.Time) error {
	n, err := s.exec(ctx, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", hash, stamp(&at), id)
	if err != nil {
		return s.fail(err, "set password of", "user", id)
	}
	return touched(n, "user", id)
}

// SetUserDisabled disables the user from at, or enables them again.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool, at time.Time) error {
	var disabledAt *time.Time
	if disabled {
		disabledAt = &at
	}
	n, err := s.exec(ctx, "UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?", stampPtr(&disabledAt), stamp(&at), id)
	if err != nil {
		return s.fail(err, "disable", "user", id)
	}
	return touched(n, "user", id)
}

func scanMembership(sc scanner) (*auth.Membership, error) {
	var m auth.Membership
	return &m, sc.Scan(&m.OrgID, &m.UserID, &m.Role, timeDest{&m.CreatedAt})
}

// GetMembership reads the membership of a user in an organization.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (*auth.Membership, error) {
	m, err := scanMembership(s.queryRow(ctx, "SELECT org_id, user_id, role, created_at FROM memberships WHERE org_id = ? AND user_id = ?", orgID, userID))
	if err := s.getOne(err, "member", userID); err != nil {
		return nil, err
	}
	return m, nil
}

// ListMembers lists the organization's members by user id, newest first.
func (s *Store) ListMembers(ctx context.Context, orgID string, p page.Params) ([]*auth.Member, error) {
	q := "SELECT u.id, u.email, u.name, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?"
	args := []any{orgID}
	if p.StartingAfter != "" {
		q += " AND u.id < ?"
		args = append(args, p.StartingAfter)
	}
	q += " ORDER BY u.id DESC LIMIT ?"
	ms, err := list(ctx, s, "members", q, append(args, p.Size()), func(sc scanner) (*auth.Member, error) {
		var m auth.Member
		return &m, sc.Scan(&m.ID, &m.Email, &m.Name, &m.Role, timeDest{&m.JoinedAt})
	})
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if err := s.openUserEmail(ctx, m.ID, &m.Email); err != nil {
			return nil, s.fail(err, "list", "members", orgID)
		}
	}
	return ms, nil
}

// ListUserMemberships lists every membership of the user.
func (s *Store) ListUserMemberships(ctx context.Context, userID string) ([]*auth.Membership, error) {
	return list(ctx, s, "memberships", "SELECT org_id, user_id, role, created_at FROM memberships WHERE user_id = ? ORDER BY org_id",
		[]any{userID}, scanMembership)
}

// lockOwners serializes the changes of an organization's owners, so that
// two owners demoting each other at once cannot leave none: on PostgreSQL
// it locks the organization's row; on SQLite the write transaction already
// excludes every other writer.
func (s *Store) lockOwners(ctx context.Context, orgID string) error {
	var id string
	return s.getOne(s.queryRow(ctx, "SELECT id FROM organizations WHERE id = ?"+s.d.ForUpdate, orgID).Scan(&id), "organization", orgID)
}

var errLastOwner = errs.E(errs.Conflict, "last_owner", "an organization keeps at least one owner: make another member owner first")

// ownerGuard is the condition under which a membership may stop being an
// owner's: it is not one, or another owner remains.
const ownerGuard = "(role <> 'owner' OR (SELECT COUNT(*) FROM memberships o WHERE o.org_id = ? AND o.role = 'owner') > 1)"

// SetMemberRole changes a member's role; the last owner keeps it.
func (s *Store) SetMemberRole(ctx context.Context, orgID, userID string, role auth.Role) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockOwners(ctx, orgID); err != nil {
			return err
		}
		m, err := s.GetMembership(ctx, orgID, userID)
		if err != nil {
			return err
		}
		if m.Role == role {
			return nil
		}
		n, err := s.exec(ctx, "UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ? AND "+ownerGuard, role, orgID, userID, orgID)
		if err != nil {
			return s.fail(err, "change role of", "member", userID)
		}
		if n == 0 {
			return errLastOwner
		}
		return nil
	})
}

// DeleteMembership takes a user out of an organization; the last owner
// stays.
func (s *Store) DeleteMembership(ctx context.Context, orgID, userID string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockOwners(ctx, orgID); err != nil {
			return err
		}
		if _, err := s.GetMembership(ctx, orgID, userID); err != nil {
			return err
		}
		n, err := s.exec(ctx, "DELETE FROM memberships WHERE org_id = ? AND user_id = ? AND "+ownerGuard, orgID, userID, orgID)
		if err != nil {
			return s.fail(err, "remove", "member", userID)
		}
		if n == 0 {
			return errLastOwner
		}
		return nil
	})
}

const invitationCols = "id, org_id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at"

// An invitation's email is sealed under its organization, and indexed by
// the same blind index as users' emails (serverIndex).

// InsertInvitation stores an invitation.
func (s *Store) InsertInvitation(ctx context.Context, inv *auth.Invitation) error {
	bidx, _, err := s.emailIndexes(ctx, inv.Email)
	x := s.sealer(ctx, inv.OrgID, "invitations", inv.ID)
	email := x.text("email", inv.Email)
	if err == nil {
		err = x.err
	}
	if err != nil {
		return s.fail(err, "insert", "invitation", inv.ID)
	}
	if _, err := s.exec(ctx, "INSERT INTO invitations ("+invitationCols+", email_bidx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		inv.ID, inv.OrgID, email, inv.Role, inv.TokenHash, inv.InvitedBy, stamp(&inv.CreatedAt), stamp(&inv.ExpiresAt),
		stampPtr(&inv.AcceptedAt), bidx); err != nil {
		return s.fail(err, "insert", "invitation", inv.ID)
	}
	return nil
}

func (s *Store) scanInvitation(ctx context.Context, sc scanner) (*auth.Invitation, error) {
	var inv auth.Invitation
	if err := sc.Scan(&inv.ID, &inv.OrgID, &inv.Email, &inv.Role, &inv.TokenHash, &inv.InvitedBy, timeDest{&inv.CreatedAt},
		timeDest{&inv.ExpiresAt}, nullTimeDest{&inv.AcceptedAt}); err != nil {
		return nil, err
	}
	x := s.opener(ctx, inv.OrgID, "invitations", inv.ID)
	x.open("email", &inv.Email)
	return &inv, x.err
}

// GetInvitationByHash finds an invitation by the hash of its token, in any
// organization: the token names it.
func (s *Store) GetInvitationByHash(ctx context.Context, hash []byte) (*auth.Invitation, error) {
	inv, err := s.scanInvitation(ctx, s.queryRow(ctx, "SELECT "+invitationCols+" FROM invitations WHERE token_hash = ?", hash))
	if err := s.getOne(err, "invitation", "(by token)"); err != nil {
		return nil, err
	}
	return inv, nil
}

// ListInvitations lists the organization's invitations not yet accepted,
// newest first.
func (s *Store) ListInvitations(ctx context.Context, orgID string, p page.Params) ([]*auth.Invitation, error) {
	q := "SELECT " + invitationCols + " FROM invitations WHERE org_id = ? AND accepted_at IS NULL"
	args := []any{orgID}
	if p.StartingAfter != "" {
		q += " AND id < ?"
		args = append(args, p.StartingAfter)
	}
	q += " ORDER BY id DESC LIMIT ?"
	return list(ctx, s, "invitations", q, append(args, p.Size()), func(sc scanner) (*auth.Invitation, error) {
		return s.scanInvitation(ctx, sc)
	})
}

// DeleteInvitation withdraws an invitation of the organization not yet
// accepted, so that its link no longer works.
func (s *Store) DeleteInvitation(ctx context.Context, orgID, id string) error {
	n, err := s.exec(ctx, "DELETE FROM invitations WHERE org_id = ? AND id = ? AND accepted_at IS NULL", orgID, id)
	if err != nil {
		return s.fail(err, "delete", "invitation", id)
	}
	return touched(n, "invitation", id)
}

// MarkInvitationAccepted accepts an invitation once.
func (s *Store) MarkInvitationAccepted(ctx context.Context, id string, at time.Time) error {
	n, err := s.exec(ctx, "UPDATE invitations SET accepted_at = ? WHERE id = ? AND accepted_at IS NULL", stamp(&at), id)
	if err != nil {
		return s.fail(err, "accept", "invitation", id)
	}
	return touched(n, "invitation", id)
}

const sessionCols = "id, hash, user_id, state, user_agent, created_at, last_seen_at, expires_at, revoked_at"

func scanSession(sc scanner) (*auth.Session, error) {
	var x auth.Session
	return &x, sc.Scan(&x.ID, &x.Hash, &x.UserID, &x.State, &x.UserAgent, timeDest{&x.CreatedAt}, timeDest{&x.LastSeenAt},
		timeDest{&x.ExpiresAt}, nullTimeDest{&x.RevokedAt})
}

// InsertSession stores a session.
func (s *Store) InsertSession(ctx context.Context, x *auth.Session) error {
	if _, err := s.exec(ctx, insertSQL("sessions", sessionCols), x.ID, x.Hash, x.UserID, x.State, x.UserAgent,
		stamp(&x.CreatedAt), stamp(&x.LastSeenAt), stamp(&x.ExpiresAt), stampPtr(&x.RevokedAt)); err != nil {
		return s.fail(err, "insert", "session", x.ID)
	}
	return nil
}

// GetSessionByHash finds a session by the hash of its cookie value.
func (s *Store) GetSessionByHash(ctx context.Context, hash []byte) (*auth.Session, error) {
	x, err := scanSession(s.queryRow(ctx, "SELECT "+sessionCols+" FROM sessions WHERE hash = ?", hash))
	if err := s.getOne(err, "session", "(by secret)"); err != nil {
		return nil, err
	}
	return x, nil
}

// TouchSession records the last use of a session.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	n, err := s.exec(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id = ?", stamp(&at), id)
	if err != nil {
		return s.fail(err, "touch", "session", id)
	}
	return touched(n, "session", id)
}

// RevokeSession revokes one live session of the user.
func (s *Store) RevokeSession(ctx context.Context, userID, id string, at time.Time) error {
	n, err := s.exec(ctx, "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id = ? AND revoked_at IS NULL", stamp(&at), userID, id)
	if err != nil {
		return s.fail(err, "revoke", "session", id)
	}
	return touched(n, "session", id)
}

// RevokeUserSessions revokes the user's live sessions but except.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int64, error) {
	n, err := s.exec(ctx, "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL", stamp(&at), userID, except)
	if err != nil {
		return 0, s.fail(err, "revoke sessions of", "user", userID)
	}
	return n, nil
}

// RevokeAllSessions revokes every live session of every user: an
// operator's "sign everyone out" (bursar admin end-sessions --all).
// Sessions belong to users, not to organizations, so this is the one
// statement on them that names no user.
func (s *Store) RevokeAllSessions(ctx context.Context, at time.Time) (int64, error) {
	n, err := s.exec(ctx, "UPDATE sessions SET revoked_at = ? WHERE revoked_at IS NULL", stamp(&at))
	if err != nil {
		return 0, s.fail(err, "revoke", "session", "(all)")
	}
	return n, nil
}

// ListUserSessions lists the user's unrevoked, unexpired sessions.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	return list(ctx, s, "sessions", "SELECT "+sessionCols+" FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT 100",
		[]any{userID, stamp(&now)}, scanSession)
}

// InsertPasswordReset stores a password reset.
func (s *Store) InsertPasswordReset(ctx context.Context, r *auth.PasswordReset) error {
	if _, err := s.exec(ctx, "INSERT INTO password_resets (hash, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?)",
		r.Hash, r.UserID, stamp(&r.CreatedAt), stamp(&r.ExpiresAt), stampPtr(&r.UsedAt)); err != nil {
		return s.fail(err, "insert", "password reset of user", r.UserID)
	}
	return nil
}

// GetPasswordReset finds a password reset by the hash of its token.
func (s *Store) GetPasswordReset(ctx context.Context, hash []byte) (*auth.PasswordReset, error) {
	var r auth.PasswordReset
	err := s.queryRow(ctx, "SELECT hash, user_id, created_at, expires_at, used_at FROM password_resets WHERE hash = ?", hash).Scan(
		&r.Hash, &r.UserID, timeDest{&r.CreatedAt}, timeDest{&r.ExpiresAt}, nullTimeDest{&r.UsedAt})
	if err := s.getOne(err, "password reset", "(by token)"); err != nil {
		return nil, err
	}
	return &r, nil
}

// UsePasswordReset uses an unused, unexpired reset once.
func (s *Store) UsePasswordReset(ctx context.Context, hash []byte, at time.Time) error {
	now := stamp(&at)
	n, err := s.exec(ctx, "UPDATE password_resets SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?", now, hash, now)
	if err != nil {
		return s.fail(err, "use", "password reset", "(by token)")
	}
	return touched(n, "password reset", "(by token)")
}

// GetThrottle reads a sign-in counter.
func (s *Store) GetThrottle(ctx context.Context, subject string) (*auth.Throttle, error) {
	var t auth.Throttle
	err := s.queryRow(ctx, "SELECT subject, failures, last_attempt_at, next_allowed_at FROM signin_throttle WHERE subject = ?", subject).Scan(
		&t.Subject, &t.Failures, timeDest{&t.LastAttemptAt}, timeDest{&t.NextAllowedAt})
	if err := s.getOne(err, "sign-in counter", subject); err != nil {
		return nil, err
	}
	return &t, nil
}

// SwapThrottle writes next if the stored counter is still prev.
func (s *Store) SwapThrottle(ctx context.Context, prev, next *auth.Throttle) (bool, error) {
	var n int64
	var err error
	if prev == nil {
		n, err = s.exec(ctx, "INSERT INTO signin_throttle (subject, failures, last_attempt_at, next_allowed_at) VALUES (?, ?, ?, ?) ON CONFLICT (subject) DO NOTHING",
			next.Subject, next.Failures, stamp(&next.LastAttemptAt), stamp(&next.NextAllowedAt))
	} else {
		last := prev.LastAttemptAt
		n, err = s.exec(ctx, "UPDATE signin_throttle SET failures = ?, last_attempt_at = ?, next_allowed_at = ? WHERE subject = ? AND failures = ? AND last_attempt_at = ?",
			next.Failures, stamp(&next.LastAttemptAt), stamp(&next.NextAllowedAt), next.Subject, prev.Failures, stamp(&last))
	}
	if err != nil {
		return false, s.fail(err, "count", "sign-in attempt", next.Subject)
	}
	return n == 1, nil
}

// DeleteThrottle forgets a sign-in counter.
func (s *Store) DeleteThrottle(ctx context.Context, subject string) error {
	if _, err := s.exec(ctx, "DELETE FROM signin_throttle WHERE subject = ?", subject); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s.fail(err, "reset", "sign-in counter", subject)
	}
	return nil
}

var _ auth.IdentityStore = (*Store)(nil)
