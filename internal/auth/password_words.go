package auth

import (
	"context"
	"errors"
	"fmt"

	"bursar/internal/auth/password"
	"bursar/internal/org"
)

// OrgReader reads an organization: the identity service needs its name,
// one of the words a member's password must not be built on.
type OrgReader interface {
	GetOrganization(ctx context.Context, id string) (*org.Organization, error)
}

// MembershipLister lists the organizations a user belongs to.
type MembershipLister interface {
	ListUserMemberships(ctx context.Context, userID string) ([]*Membership, error)
}

// PasswordWords returns the context-specific words (ASVS 5.0 6.1.2) that
// a new password of u must not be built on, for password.Check: u's name
// and email and the names of the organizations u belongs to, and of
// joining, the organizations u is joining. u may not be stored yet (an
// invitation being accepted); then it has no memberships to read.
func PasswordWords(ctx context.Context, members MembershipLister, orgs OrgReader, u *User, joining ...string) ([]string, error) {
	if orgs == nil {
		return nil, errors.New("auth: no organization reader for the password's context words")
	}
	ids := append([]string(nil), joining...)
	if u.ID != "" {
		ms, err := members.ListUserMemberships(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			ids = append(ids, m.OrgID)
		}
	}
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		o, err := orgs.GetOrganization(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("auth: password context: organization %s: %w", id, err)
		}
		names = append(names, o.Name)
	}
	return password.Words(u.Name, u.Email, names...), nil
}

// checkPassword applies the password policy to a password u chooses, with
// u's context words.
func (s *Identity) checkPassword(ctx context.Context, u *User, pw string, joining ...string) error {
	words, err := PasswordWords(ctx, s.Store, s.Orgs, u, joining...)
	if err != nil {
		return err
	}
	return password.Check(pw, words...)
}
