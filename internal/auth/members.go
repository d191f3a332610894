package auth

import (
	"context"
	"net/mail"
	"strings"
	"unicode/utf8"

	"bursar/internal/auth/password"
	"bursar/internal/errs"
	"bursar/internal/ident"
	notify "bursar/internal/notify/mail"
	"bursar/internal/page"
)

// errBadLinkToken answers a token that is unknown, used or expired alike.
var errBadLinkToken = errs.E(errs.Invalid, "invalid_token", "the link is invalid, used or expired; ask for a new one")

// Members lists the organization's members, newest first.
func (s *Identity) Members(ctx context.Context, orgID string, p page.Params) ([]*Member, error) {
	return s.Store.ListMembers(ctx, orgID, p)
}

// validEmail checks an address as a recipient of a mail.
func validEmail(f *errs.Fields, field, email string) {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || len(email) > 254 {
		f.Add(field, "must be an email address such as ann@example.com")
	}
}

// Invite asks the email to join the organization with the role. The
// inviter's role (empty for an API key, which the scope "users:write"
// authorizes like an owner) must outrank the role given. The token is
// returned to be mailed by MailInvitation once the invitation is stored.
func (s *Identity) Invite(ctx context.Context, orgID, email string, role, inviterRole Role, invitedBy string) (*Invitation, Secret, error) {
	email = NormalizeEmail(email)
	var f errs.Fields
	validEmail(&f, "email", email)
	if !ValidRole(role) {
		f.Add("role", "must be one of owner, admin, accountant, viewer")
	}
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	if inviterRole != "" && !Outranks(inviterRole, role) {
		return nil, "", errs.E(errs.Forbidden, "role_too_high", "only an owner may invite an owner")
	}
	if u, err := s.Store.GetUserByEmail(ctx, email); err == nil {
		if _, err := s.Store.GetMembership(ctx, orgID, u.ID); err == nil {
			return nil, "", errs.E(errs.Conflict, "already_member", "this person is already a member")
		}
	}
	token, hash, err := newSecret()
	if err != nil {
		return nil, "", err
	}
	now := s.Now().UTC()
	inv := &Invitation{ID: ident.New(InvitationPrefix, now), OrgID: orgID, Email: email, Role: role, TokenHash: hash,
		InvitedBy: invitedBy, CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	if err := s.Store.InsertInvitation(ctx, inv); err != nil {
		return nil, "", err
	}
	return inv, token, nil
}

// MailInvitation sends the invitation's link.
func (s *Identity) MailInvitation(ctx context.Context, inv *Invitation, token Secret, orgName string) {
	s.send(ctx, notify.Message{To: inv.Email, Subject: "You are invited to " + oneLine(orgName) + " on Bursar",
		Text: "You have been invited to join " + oneLine(orgName) + " on Bursar as " + string(inv.Role) + ".\n\n" +
			"Accept the invitation here, within 7 days:\n\n" + s.link("/accept-invitation", token) + "\n\n" +
			"If you did not expect this, ignore this mail.\n"})
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// AcceptInvitation makes the invited person a member. A newcomer chooses
// a name and a password (under the password policy); someone who already
// has an account proves it with their password, and the name is ignored.
// The token works once.
func (s *Identity) AcceptInvitation(ctx context.Context, token, name, pw string) (*User, *Membership, error) {
	inv, err := s.Store.GetInvitationByHash(ctx, HashSecret(token))
	if errs.KindOf(err) == errs.NotFound {
		return nil, nil, errBadLinkToken
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.Now().UTC()
	if inv.AcceptedAt != nil || !now.Before(inv.ExpiresAt) {
		return nil, nil, errBadLinkToken
	}
	u, err := s.Store.GetUserByEmail(ctx, inv.Email)
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return nil, nil, err
	}
	isNew := u == nil
	if isNew {
		var f errs.Fields
		name = strings.TrimSpace(name)
		if name == "" || utf8.RuneCountInString(name) > 100 {
			f.Add("name", "must be 1 to 100 characters long")
		}
		if err := f.Err(); err != nil {
			return nil, nil, err
		}
		u = &User{Email: inv.Email, Name: name}
		if err := s.checkPassword(ctx, u, pw, inv.OrgID); err != nil {
			return nil, nil, err
		}
		h, err := password.Hash(pw)
		if err != nil {
			return nil, nil, err
		}
		u = &User{ID: ident.New("usr", now), Email: inv.Email, Name: name, CreatedAt: now, PasswordHash: h, EmailVerifiedAt: &now}
	} else if ok, _ := password.Verify(pw, u.PasswordHash); !ok {
		return nil, nil, errs.E(errs.Unauthorized, "invalid_credentials", "you already have an account: give its password to accept")
	}
	m := &Membership{OrgID: inv.OrgID, UserID: u.ID, Role: inv.Role, CreatedAt: now}
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.MarkInvitationAccepted(ctx, inv.ID, now); err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return errBadLinkToken
			}
			return err
		}
		if isNew {
			if err := s.Store.InsertUser(ctx, u); err != nil {
				return err
			}
		}
		return s.Store.InsertMembership(ctx, m)
	})
	if err != nil {
		return nil, nil, err
	}
	return u, m, nil
}

// Invitations lists the organization's invitations not yet accepted,
// newest first.
func (s *Identity) Invitations(ctx context.Context, orgID string, p page.Params) ([]*Invitation, error) {
	return s.Store.ListInvitations(ctx, orgID, p)
}

// RevokeInvitation withdraws an invitation not yet accepted: its link
// stops working at once.
func (s *Identity) RevokeInvitation(ctx context.Context, orgID, id string) error {
	return s.Store.DeleteInvitation(ctx, orgID, id)
}

// ChangeRole gives a member another role. An admin may neither make an
// owner nor change one; the last owner keeps the role.
func (s *Identity) ChangeRole(ctx context.Context, orgID string, actorRole Role, userID string, role Role) (before, after *Membership, err error) {
	if !ValidRole(role) {
		var f errs.Fields
		f.Add("role", "must be one of owner, admin, accountant, viewer")
		return nil, nil, f.Err()
	}
	m, err := s.Store.GetMembership(ctx, orgID, userID)
	if err != nil {
		return nil, nil, err
	}
	if actorRole != "" && (!Outranks(actorRole, m.Role) || !Outranks(actorRole, role)) {
		return nil, nil, errs.E(errs.Forbidden, "role_too_high", "only an owner may make or change an owner")
	}
	if err := s.Store.SetMemberRole(ctx, orgID, userID, role); err != nil {
		return nil, nil, err
	}
	after = &Membership{OrgID: m.OrgID, UserID: m.UserID, Role: role, CreatedAt: m.CreatedAt}
	return m, after, nil
}

// RemoveMember takes a member out of the organization; the last owner
// stays. Every session of the user ends with it, in every organization
// (sessions are the user's, not an organization's): whoever was removed
// signs in afresh, and a browser left signed in loses what it showed
// (ASVS 5.0 7.4.2). It reports the membership and how many sessions ended.
func (s *Identity) RemoveMember(ctx context.Context, orgID string, actorRole Role, userID string) (*Membership, int64, error) {
	m, err := s.Store.GetMembership(ctx, orgID, userID)
	if err != nil {
		return nil, 0, err
	}
	if actorRole != "" && !Outranks(actorRole, m.Role) {
		return nil, 0, errs.E(errs.Forbidden, "role_too_high", "only an owner may remove an owner")
	}
	var n int64
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.DeleteMembership(ctx, orgID, userID); err != nil {
			return err
		}
		var err error
		n, err = s.Store.RevokeUserSessions(ctx, userID, "", s.Now().UTC())
		return err
	})
	return m, n, err
}
