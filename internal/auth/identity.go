package auth

import (
	"context"
	"time"

	"bursar/internal/page"
)

// Member is a user as an organization sees it: the user and their role.
type Member struct {
	ID       string    `json:"id"` // the user's id
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

// InvitationPrefix begins the id of an invitation. Invitations made
// before 2026-11-27 have ids of LegacyInvitationPrefix, the invoices' own
// prefix, against DESIGN.md §6 (one prefix per type); their rows keep
// those ids, which the API still takes for invitations.
const (
	InvitationPrefix       = "ivt"
	LegacyInvitationPrefix = "inv"
)

// Invitation asks someone, by email, to join an organization with a role.
// Only the SHA-256 of its token is stored; the token travels in the mail.
type Invitation struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"-"`
	Email      string     `json:"email"`
	Role       Role       `json:"role"`
	TokenHash  []byte     `json:"-"`
	InvitedBy  string     `json:"invited_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at"`
}

// SessionState says what a session may do.
type SessionState string

// The session states.
const (
	// SessionActive is a signed-in session.
	SessionActive SessionState = "active"
	// SessionMFAPending has passed the password and waits for the second
	// factor: it authorizes nothing but completing it.
	SessionMFAPending SessionState = "mfa_pending"
)

// Session is a signed-in browser. The cookie carries 256 random bits; only
// their SHA-256 is stored, so a read of the database yields no usable
// session. ID is a separate public identifier, to list and revoke.
type Session struct {
	ID         string       `json:"id"`
	Hash       []byte       `json:"-"`
	UserID     string       `json:"-"`
	State      SessionState `json:"state"`
	UserAgent  string       `json:"user_agent"`
	CreatedAt  time.Time    `json:"created_at"`
	LastSeenAt time.Time    `json:"last_seen_at"`
	ExpiresAt  time.Time    `json:"expires_at"`
	RevokedAt  *time.Time   `json:"-"`
}

// PasswordReset is a single-use permission to set a new password, mailed
// to the user. Only the SHA-256 of its token is stored.
type PasswordReset struct {
	Hash      []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Throttle counts the sign-in attempts of one subject (an account or a
// source address) across every replica.
type Throttle struct {
	Subject       string
	Failures      int
	LastAttemptAt time.Time
	NextAllowedAt time.Time
}

// IdentityStore is what the identity service needs from storage.
type IdentityStore interface {
	// InTx runs fn in one transaction carried by its context.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	InsertUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByEmail finds a user by email, compared case-insensitively.
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	SetUserPassword(ctx context.Context, id, hash string, at time.Time) error
	// SetUserDisabled disables the user from at, or enables them again.
	SetUserDisabled(ctx context.Context, id string, disabled bool, at time.Time) error

	InsertMembership(ctx context.Context, m *Membership) error
	GetMembership(ctx context.Context, orgID, userID string) (*Membership, error)
	ListMembers(ctx context.Context, orgID string, p page.Params) ([]*Member, error)
	ListUserMemberships(ctx context.Context, userID string) ([]*Membership, error)
	// SetMemberRole and DeleteMembership refuse, with a conflict coded
	// "last_owner", to leave the organization without an owner.
	SetMemberRole(ctx context.Context, orgID, userID string, role Role) error
	DeleteMembership(ctx context.Context, orgID, userID string) error

	InsertInvitation(ctx context.Context, inv *Invitation) error
	GetInvitationByHash(ctx context.Context, hash []byte) (*Invitation, error)
	// ListInvitations lists the organization's invitations not yet
	// accepted, newest first.
	ListInvitations(ctx context.Context, orgID string, p page.Params) ([]*Invitation, error)
	// DeleteInvitation withdraws an invitation of the organization not
	// yet accepted, or reports not found.
	DeleteInvitation(ctx context.Context, orgID, id string) error
	// MarkInvitationAccepted sets the acceptance time of an invitation not
	// yet accepted, or reports not found: a token works once.
	MarkInvitationAccepted(ctx context.Context, id string, at time.Time) error

	InsertSession(ctx context.Context, s *Session) error
	GetSessionByHash(ctx context.Context, hash []byte) (*Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	// RevokeSession revokes one live session of the user.
	RevokeSession(ctx context.Context, userID, id string, at time.Time) error
	// RevokeUserSessions revokes every live session of the user but the
	// one named by except (may be "") and returns how many it revoked.
	RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int64, error)
	// ListUserSessions lists the user's sessions not revoked and not past
	// their absolute expiry at now, newest first.
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]*Session, error)

	InsertPasswordReset(ctx context.Context, r *PasswordReset) error
	GetPasswordReset(ctx context.Context, hash []byte) (*PasswordReset, error)
	// UsePasswordReset marks a reset that is unused and unexpired at at as
	// used, or reports not found: a token works once.
	UsePasswordReset(ctx context.Context, hash []byte, at time.Time) error

	// GetThrottle returns the subject's counter, or not found.
	GetThrottle(ctx context.Context, subject string) (*Throttle, error)
	// SwapThrottle writes next if the stored counter still equals prev
	// (nil: there is none) and reports whether it did, so that replicas
	// counting the same subject at once never lose an attempt.
	SwapThrottle(ctx context.Context, prev, next *Throttle) (bool, error)
	DeleteThrottle(ctx context.Context, subject string) error
}
