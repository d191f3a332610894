package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"bursar/internal/auth"
	"bursar/internal/errs"
	"bursar/internal/page"
	"bursar/internal/store/sqlstore"
)

func newUser(t *testing.T, st *sqlstore.Store) *auth.User {
	t.Helper()
	id := newID("usr")
	// #nosec G101 -- a made-up hash of no password, for the store to keep.
	u := &auth.User{ID: id, Email: strings.ToLower(id) + "@example.com", Name: "Ada", CreatedAt: at,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", EmailVerifiedAt: ptr(at)}
	must(t, st.InsertUser(ctx, u))
	return u
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Users keep their password hash and are found by email whatever its case;
// the last owner of an organization can be neither demoted nor removed.
func testMembers(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	a, b := newUser(t, st), newUser(t, st)
	got, err := st.GetUserByEmail(ctx, strings.ToUpper(a.Email))
	must(t, err)
	if got.ID != a.ID || got.PasswordHash != a.PasswordHash || got.EmailVerifiedAt == nil || !got.EmailVerifiedAt.Equal(stored) {
		t.Fatalf("GetUserByEmail = %+v, want %+v", got, a)
	}
	must(t, st.SetUserPassword(ctx, a.ID, "new-hash", at))
	if got, _ := st.GetUser(ctx, a.ID); got.PasswordHash != "new-hash" {
		t.Fatalf("password hash %q after SetUserPassword", got.PasswordHash)
	}
	wantErr(t, st.SetUserPassword(ctx, newID("usr"), "x", at), errs.NotFound, "")
	if got.DisabledAt != nil {
		t.Fatalf("a new user is disabled from %v", got.DisabledAt)
	}
	must(t, st.SetUserDisabled(ctx, a.ID, true, at))
	if got, _ := st.GetUserByEmail(ctx, a.Email); got.DisabledAt == nil || !got.DisabledAt.Equal(stored) {
		t.Fatalf("disabled at %v after SetUserDisabled, want %v", got.DisabledAt, stored)
	}
	must(t, st.SetUserDisabled(ctx, a.ID, false, at))
	if got, _ := st.GetUser(ctx, a.ID); got.DisabledAt != nil {
		t.Fatalf("disabled at %v after enabling", got.DisabledAt)
	}
	wantErr(t, st.SetUserDisabled(ctx, newID("usr"), true, at), errs.NotFound, "")

	must(t, st.InsertMembership(ctx, &auth.Membership{OrgID: o.ID, UserID: a.ID, Role: auth.RoleOwner, CreatedAt: at}))
	must(t, st.InsertMembership(ctx, &auth.Membership{OrgID: o.ID, UserID: b.ID, Role: auth.RoleViewer, CreatedAt: at}))
	wantErr(t, st.SetMemberRole(ctx, o.ID, a.ID, auth.RoleAdmin), errs.Conflict, "last_owner")
	wantErr(t, st.DeleteMembership(ctx, o.ID, a.ID), errs.Conflict, "last_owner")
	must(t, st.SetMemberRole(ctx, o.ID, b.ID, auth.RoleOwner))
	must(t, st.SetMemberRole(ctx, o.ID, a.ID, auth.RoleAccountant))
	wantErr(t, st.DeleteMembership(ctx, o.ID, b.ID), errs.Conflict, "last_owner")
	must(t, st.DeleteMembership(ctx, o.ID, a.ID))
	wantErr(t, st.DeleteMembership(ctx, o.ID, a.ID), errs.NotFound, "")
	// Another organization's member is not found through this one.
	o2 := newOrg(t, st)
	wantErr(t, st.SetMemberRole(ctx, o2.ID, b.ID, auth.RoleViewer), errs.NotFound, "")
	wantErr(t, st.DeleteMembership(ctx, o2.ID, b.ID), errs.NotFound, "")

	ms, err := st.ListMembers(ctx, o.ID, page.Params{})
	must(t, err)
	if len(ms) != 1 || ms[0].ID != b.ID || ms[0].Role != auth.RoleOwner || ms[0].Email != b.Email {
		t.Fatalf("ListMembers = %+v, want only %s as owner", ms, b.ID)
	}
	if ms, _ := st.ListUserMemberships(ctx, b.ID); len(ms) != 1 || ms[0].OrgID != o.ID {
		t.Fatalf("ListUserMemberships = %+v", ms)
	}
}

// Invitations are found by their token's hash and accepted once; an
// organization lists its pending invitations, newest first and by pages,
// and withdraws them; another organization neither sees nor withdraws
// them.
func testInvitations(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	inv := &auth.Invitation{ID: newID(auth.InvitationPrefix), OrgID: o.ID, Email: "new@example.com", Role: auth.RoleAccountant,
		TokenHash: hashOf(newID("tok")), InvitedBy: "usr_1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	must(t, st.InsertInvitation(ctx, inv))
	got, err := st.GetInvitationByHash(ctx, inv.TokenHash)
	must(t, err)
	if got.ID != inv.ID || got.OrgID != o.ID || got.Email != inv.Email || got.Role != inv.Role || got.AcceptedAt != nil ||
		!got.ExpiresAt.Equal(stored.Add(time.Hour)) {
		t.Fatalf("GetInvitationByHash = %+v", got)
	}

	// Three more pending ones, and one of another organization.
	var pending []*auth.Invitation
	for i := range 3 {
		p := &auth.Invitation{ID: newID(auth.InvitationPrefix), OrgID: o.ID, Email: fmt.Sprintf("p%d@example.com", i), Role: auth.RoleViewer,
			TokenHash: hashOf(newID("tok")), InvitedBy: "usr_1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		must(t, st.InsertInvitation(ctx, p))
		pending = append(pending, p)
	}
	o2 := newOrg(t, st)
	foreign := &auth.Invitation{ID: newID(auth.InvitationPrefix), OrgID: o2.ID, Email: "p0@example.com", Role: auth.RoleViewer,
		TokenHash: hashOf(newID("tok")), InvitedBy: "usr_2", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	must(t, st.InsertInvitation(ctx, foreign))

	must(t, st.MarkInvitationAccepted(ctx, inv.ID, at))
	wantErr(t, st.MarkInvitationAccepted(ctx, inv.ID, at), errs.NotFound, "")
	_, err = st.GetInvitationByHash(ctx, hashOf("other"))
	wantErr(t, err, errs.NotFound, "")

	ids := func(l []*auth.Invitation) []string {
		var out []string
		for _, x := range l {
			out = append(out, x.ID)
		}
		return out
	}
	// Accepted invitations are not listed; the newest (greatest id) comes
	// first. (Ids made in one millisecond need not grow: sort them.)
	slices.SortFunc(pending, func(a, b *auth.Invitation) int { return strings.Compare(b.ID, a.ID) })
	want := ids(pending)
	all, err := st.ListInvitations(ctx, o.ID, page.Params{})
	must(t, err)
	if g := ids(all); !slices.Equal(g, want) {
		t.Fatalf("ListInvitations = %v, want %v", g, want)
	}
	if all[0].Email != pending[0].Email || all[0].Role != auth.RoleViewer || all[0].InvitedBy != "usr_1" || !all[0].CreatedAt.Equal(stored) {
		t.Fatalf("listed invitation = %+v, want %+v", all[0], pending[0])
	}
	first, err := st.ListInvitations(ctx, o.ID, page.Params{Limit: 2})
	must(t, err)
	rest, err := st.ListInvitations(ctx, o.ID, page.Params{Limit: 2, StartingAfter: first[len(first)-1].ID})
	must(t, err)
	if g := append(ids(first), ids(rest)...); !slices.Equal(g, want) {
		t.Fatalf("pages = %v, want %v", g, want)
	}
	if l, _ := st.ListInvitations(ctx, o2.ID, page.Params{}); len(l) != 1 || l[0].ID != foreign.ID {
		t.Fatalf("the other organization lists %v, want only %s", ids(l), foreign.ID)
	}

	// Withdrawing: once, only pending ones, only the organization's own.
	wantErr(t, st.DeleteInvitation(ctx, o2.ID, pending[1].ID), errs.NotFound, "")
	wantErr(t, st.DeleteInvitation(ctx, o.ID, foreign.ID), errs.NotFound, "")
	wantErr(t, st.DeleteInvitation(ctx, o.ID, inv.ID), errs.NotFound, "") // accepted
	must(t, st.DeleteInvitation(ctx, o.ID, pending[1].ID))
	wantErr(t, st.DeleteInvitation(ctx, o.ID, pending[1].ID), errs.NotFound, "")
	_, err = st.GetInvitationByHash(ctx, pending[1].TokenHash)
	wantErr(t, err, errs.NotFound, "")
	if got, err := st.GetInvitationByHash(ctx, inv.TokenHash); err != nil || got.AcceptedAt == nil {
		t.Fatalf("the accepted invitation after withdrawals: %+v, %v", got, err)
	}
	all, err = st.ListInvitations(ctx, o.ID, page.Params{})
	must(t, err)
	if g := ids(all); !slices.Equal(g, []string{pending[0].ID, pending[2].ID}) {
		t.Fatalf("ListInvitations after a withdrawal = %v", g)
	}
	if l, _ := st.ListInvitations(ctx, o2.ID, page.Params{}); len(l) != 1 {
		t.Fatalf("the other organization's invitation went with this one's: %v", ids(l))
	}
}

// Sessions are found by hash, revoked one by one or all but one, and
// listed while live; resets are used once and not after they expire.
func testSessions(t *testing.T, st *sqlstore.Store) {
	u, other := newUser(t, st), newUser(t, st)
	mk := func(userID string, expires time.Time) *auth.Session {
		x := &auth.Session{ID: newID("ses"), Hash: hashOf(newID("sec")), UserID: userID, State: auth.SessionActive,
			UserAgent: "test", CreatedAt: at, LastSeenAt: at, ExpiresAt: expires}
		must(t, st.InsertSession(ctx, x))
		return x
	}
	s1, s2, s3 := mk(u.ID, at.Add(time.Hour)), mk(u.ID, at.Add(time.Hour)), mk(u.ID, at.Add(time.Minute))
	so := mk(other.ID, at.Add(time.Hour))
	got, err := st.GetSessionByHash(ctx, s1.Hash)
	must(t, err)
	if got.ID != s1.ID || !bytes.Equal(got.Hash, s1.Hash) || got.State != auth.SessionActive || !got.ExpiresAt.Equal(stored.Add(time.Hour)) {
		t.Fatalf("GetSessionByHash = %+v", got)
	}
	must(t, st.TouchSession(ctx, s1.ID, at.Add(time.Minute)))
	if got, _ := st.GetSessionByHash(ctx, s1.Hash); !got.LastSeenAt.Equal(stored.Add(time.Minute)) {
		t.Fatalf("last seen %v after touch", got.LastSeenAt)
	}
	live, err := st.ListUserSessions(ctx, u.ID, at.Add(2*time.Minute))
	must(t, err)
	if len(live) != 2 {
		t.Fatalf("ListUserSessions = %d sessions, want 2 (one expired)", len(live))
	}
	// One user cannot revoke another's session.
	wantErr(t, st.RevokeSession(ctx, u.ID, so.ID, at), errs.NotFound, "")
	must(t, st.RevokeSession(ctx, u.ID, s2.ID, at))
	wantErr(t, st.RevokeSession(ctx, u.ID, s2.ID, at), errs.NotFound, "")
	n, err := st.RevokeUserSessions(ctx, u.ID, s1.ID, at)
	must(t, err)
	if n != 1 { // s3
		t.Fatalf("RevokeUserSessions revoked %d, want 1", n)
	}
	if got, _ := st.GetSessionByHash(ctx, s3.Hash); got.RevokedAt == nil {
		t.Fatal("s3 not revoked")
	}
	if got, _ := st.GetSessionByHash(ctx, so.Hash); got.RevokedAt != nil {
		t.Fatal("another user's session was revoked")
	}

	r := &auth.PasswordReset{Hash: hashOf(newID("rst")), UserID: u.ID, CreatedAt: at, ExpiresAt: at.Add(15 * time.Minute)}
	must(t, st.InsertPasswordReset(ctx, r))
	wantErr(t, st.UsePasswordReset(ctx, r.Hash, at.Add(15*time.Minute)), errs.NotFound, "")
	must(t, st.UsePasswordReset(ctx, r.Hash, at.Add(time.Minute)))
	wantErr(t, st.UsePasswordReset(ctx, r.Hash, at.Add(time.Minute)), errs.NotFound, "")
	if got, err := st.GetPasswordReset(ctx, r.Hash); err != nil || got.UsedAt == nil || got.UserID != u.ID {
		t.Fatalf("GetPasswordReset = %+v, %v", got, err)
	}
}

// A sign-in counter changes only from the value its writer read.
func testThrottle(t *testing.T, st *sqlstore.Store) {
	subj := "account:" + newID("t")
	_, err := st.GetThrottle(ctx, subj)
	wantErr(t, err, errs.NotFound, "")
	first := &auth.Throttle{Subject: subj, Failures: 1, LastAttemptAt: at, NextAllowedAt: at}
	ok, err := st.SwapThrottle(ctx, nil, first)
	must(t, err)
	if ok2, err := st.SwapThrottle(ctx, nil, first); !ok || ok2 || err != nil {
		t.Fatalf("two inserts: %v, %v, %v; want true, false", ok, ok2, err)
	}
	cur, err := st.GetThrottle(ctx, subj)
	must(t, err)
	next := &auth.Throttle{Subject: subj, Failures: 2, LastAttemptAt: at.Add(time.Second), NextAllowedAt: at.Add(time.Minute)}
	if ok, err := st.SwapThrottle(ctx, cur, next); !ok || err != nil {
		t.Fatalf("swap from the read value: %v, %v", ok, err)
	}
	if ok, err := st.SwapThrottle(ctx, cur, next); ok || err != nil {
		t.Fatalf("swap from a stale value: %v, %v; want false", ok, err)
	}
	if got, _ := st.GetThrottle(ctx, subj); got.Failures != 2 || !got.NextAllowedAt.Equal(stored.Add(time.Minute)) {
		t.Fatalf("counter = %+v", got)
	}
	must(t, st.DeleteThrottle(ctx, subj))
	_, err = st.GetThrottle(ctx, subj)
	wantErr(t, err, errs.NotFound, "")
}
