package api

import (
	"context"
	"net/http"
	"strconv"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/page"
)

func (a *api) listUsers(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r)
	p := q.page("usr")
	if err := q.err(); err != nil {
		return err
	}
	l, err := fetchList(p, func(m *auth.Member) string { return m.ID }, func(p page.Params) ([]*auth.Member, error) {
		return a.Identity.Members(r.Context(), c.orgID, p)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

type inviteInput struct {
	Email string    `json:"email"`
	Role  auth.Role `json:"role"`
}

// inviteUser invites someone by email; the link is mailed once the
// invitation is stored. A session caller may not invite above their own
// role; an API key with users:write may.
func (a *api) inviteUser(w http.ResponseWriter, r *http.Request, c caller) error {
	var in inviteInput
	if err := decode(r, &in); err != nil {
		return err
	}
	var inv *auth.Invitation
	var token auth.Secret
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		inv, token, err = a.Identity.Invite(ctx, c.orgID, in.Email, in.Role, c.role, c.actorID())
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "invitation.created", "invitation", inv.ID, nil, inv)
	})
	if err != nil {
		return err
	}
	orgName := ""
	if o, err := a.Orgs.GetOrganization(r.Context(), c.orgID); err == nil {
		orgName = o.Name
	}
	a.Identity.MailInvitation(r.Context(), inv, token, orgName)
	writeJSON(w, http.StatusCreated, inv)
	return nil
}

func (a *api) listInvitations(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r)
	p := q.page(auth.InvitationPrefix, auth.LegacyInvitationPrefix)
	if err := q.err(); err != nil {
		return err
	}
	l, err := fetchList(p, func(inv *auth.Invitation) string { return inv.ID }, func(p page.Params) ([]*auth.Invitation, error) {
		return a.Identity.Invitations(r.Context(), c.orgID, p)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// revokeInvitation withdraws an invitation not yet accepted.
func (a *api) revokeInvitation(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, auth.InvitationPrefix, "invitation", auth.LegacyInvitationPrefix)
	if err != nil {
		return err
	}
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		if err := a.Identity.RevokeInvitation(ctx, c.orgID, id); err != nil {
			return nil, err
		}
		return &audit.Entry{Action: "invitation.revoked", ObjectType: "invitation", ObjectID: id}, nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type acceptInput struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// acceptInvitation makes the invited person a member; they sign in after.
func (a *api) acceptInvitation(w http.ResponseWriter, r *http.Request, _ caller) error {
	var in acceptInput
	if err := decode(r, &in); err != nil {
		return err
	}
	u, m, err := a.Identity.AcceptInvitation(r.Context(), in.Token, in.Name, in.Password)
	if err != nil {
		return err
	}
	c := caller{orgID: m.OrgID, user: u}
	a.securityEvent(r, c, &audit.Entry{Action: "invitation.accepted", ObjectType: "member", ObjectID: u.ID,
		Fields: []audit.Field{{Name: "role", Value: jsonString(string(m.Role))}}})
	writeJSON(w, http.StatusCreated, map[string]any{"user": u, "membership": m})
	return nil
}

type roleInput struct {
	Role auth.Role `json:"role"`
}

// updateUser changes a member's role. The role is read at every request,
// so the change applies to the member's sessions at once.
func (a *api) updateUser(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "usr", "member")
	if err != nil {
		return err
	}
	var in roleInput
	if err := decode(r, &in); err != nil {
		return err
	}
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, after, err := a.Identity.ChangeRole(ctx, c.orgID, c.role, id, in.Role)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "member.role_changed", "member", id, before, after)
	})
	if err != nil {
		return err
	}
	return a.writeMember(w, r, c, id)
}

func (a *api) writeMember(w http.ResponseWriter, r *http.Request, c caller, id string) error {
	m, err := a.Identity.Store.GetMembership(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	u, err := a.Identity.Store.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &auth.Member{ID: u.ID, Email: u.Email, Name: u.Name, Role: m.Role, JoinedAt: m.CreatedAt})
	return nil
}

// removeUser takes a member out of the organization; every session of
// theirs ends with it (ASVS 5.0 7.4.2).
func (a *api) removeUser(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "usr", "member")
	if err != nil {
		return err
	}
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		m, ended, err := a.Identity.RemoveMember(ctx, c.orgID, c.role, id)
		if err != nil {
			return nil, err
		}
		e, err := a.entryOf(c, "member.removed", "member", id, m, nil)
		if err != nil {
			return nil, err
		}
		e.Fields = append(e.Fields, audit.Field{Name: "sessions_ended", Value: []byte(strconv.FormatInt(ended, 10))})
		return e, nil
	})
	if err != nil {
		return err
	}
	if c.user != nil && id == c.user.ID {
		clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeUserSessions ends every session of a member (ASVS 5.0 7.4.5): an
// owner or admin of an organization the user belongs to, after a fresh
// authentication, or an API key with users:write. An admin may not end an
// owner's sessions.
func (a *api) revokeUserSessions(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "usr", "member")
	if err != nil {
		return err
	}
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	var ended int64
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		if ended, err = a.Identity.EndMemberSessions(ctx, c.orgID, c.role, id); err != nil {
			return nil, err
		}
		return &audit.Entry{Action: "member.sessions_revoked", ObjectType: "member", ObjectID: id,
			Fields: []audit.Field{{Name: "revoked", Value: []byte(strconv.FormatInt(ended, 10))}}}, nil
	})
	if err != nil {
		return err
	}
	if c.user != nil && id == c.user.ID {
		clearSessionCookie(w)
	}
	writeJSON(w, http.StatusOK, map[string]int64{"revoked": ended})
	return nil
}
