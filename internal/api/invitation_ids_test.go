package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"bursar/internal/auth"
	"bursar/internal/ident"
)

// An invitation's id has a prefix of its own (DESIGN.md §6: one per type),
// so that it is no invoice's. Invitations made before with the invoices'
// prefix stay listed, paginated and revocable.
func TestInvitationIDsHaveTheirOwnPrefix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)

	legacy := &auth.Invitation{ID: ident.New(auth.LegacyInvitationPrefix, time.Now().Add(-time.Hour)), OrgID: a.org.ID,
		Email: "old@acme.example", Role: auth.RoleViewer, TokenHash: make([]byte, 32), InvitedBy: ownerOf(t, e, a),
		CreatedAt: time.Now().Add(-time.Hour).UTC(), ExpiresAt: time.Now().Add(6 * 24 * time.Hour).UTC()}
	if err := e.st.InsertInvitation(context.Background(), legacy); err != nil {
		t.Fatal(err)
	}
	fresh := owner.must(201, "POST", "/v1/users", map[string]any{"email": "new@acme.example", "role": "viewer"})["id"].(string)
	if !ident.Valid(fresh, "ivt") {
		t.Fatalf("invitation id %q, want ivt_...", fresh)
	}
	// An invitation's id names no invoice.
	if r := a.do("GET", "/v1/invoices/"+fresh, nil); r.status != 404 {
		t.Errorf("GET /v1/invoices/%s: %v, want 404", fresh, r)
	}

	// Newest first, one per page, across both prefixes.
	var got []string
	next := "/v1/invitations?limit=1"
	for range 3 {
		l := owner.must(200, "GET", next, nil)
		for _, v := range l["data"].([]any) {
			got = append(got, v.(map[string]any)["id"].(string))
		}
		if l["has_more"] != true {
			break
		}
		next = "/v1/invitations?limit=1&starting_after=" + got[len(got)-1]
	}
	if want := []string{fresh, legacy.ID}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("invitations listed %v, want %v", got, want)
	}
	if l := owner.must(200, "GET", "/v1/invitations?starting_after="+legacy.ID, nil); len(l["data"].([]any)) != 0 {
		t.Errorf("invitations after the oldest: %v, want none", l["data"])
	}
	if r := owner.do("GET", "/v1/invitations?starting_after=cus_"+strings.Repeat("0", 26), nil); r.status != 400 {
		t.Errorf("starting_after a customer's id: %v, want 400", r)
	}

	for _, id := range []string{legacy.ID, fresh} {
		owner.must(204, "DELETE", "/v1/invitations/"+id, nil)
		owner.must(404, "DELETE", "/v1/invitations/"+id, nil)
	}
}
