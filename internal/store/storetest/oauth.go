package storetest

import (
	"context"
	"testing"
	"time"

	"bursar/internal/auth"
	"bursar/internal/errs"
	"bursar/internal/store/sqlstore"
)

// OAuth tests the storage of organizations' identity providers: every
// field kept, one provider per organization replaced whole, looked up by
// issuer across organizations, an issuer and audience pair never shared,
// and deletion.
func OAuth(t *testing.T, st *sqlstore.Store) {
	ctx := context.Background()
	o1, o2 := newOrg(t, st), newOrg(t, st)
	issuer := "https://idp.example.com/" + newID("iss")
	_, err := st.GetOAuthProvider(ctx, o1.ID)
	wantErr(t, err, errs.NotFound, "not_found")

	p1 := &auth.OAuthProvider{OrgID: o1.ID, Issuer: issuer, Audience: "bursar-a", JWKSURL: "https://idp.example.com/jwks",
		Algorithms: []string{"ES256", "RS256"}, ScopeClaim: "scope", RoleClaim: "bursar_role",
		Roles:     []auth.RoleMapping{{Value: "billing", Scopes: []string{"invoices:write", "customers:read"}}, {Value: "auditor", Scopes: []string{"read"}}},
		UpdatedAt: at}
	must(t, st.PutOAuthProvider(ctx, p1))
	got, err := st.GetOAuthProvider(ctx, o1.ID)
	must(t, err)
	want := *p1
	want.UpdatedAt = stored
	sameJSON(t, "provider", got, &want)
	if got.OrgID != o1.ID {
		t.Errorf("org_id %q, want %q", got.OrgID, o1.ID)
	}
	_, err = st.GetOAuthProvider(ctx, o2.ID)
	wantErr(t, err, errs.NotFound, "not_found")

	// Another organization may trust the same issuer for another audience,
	// never for the same one.
	clash := &auth.OAuthProvider{OrgID: o2.ID, Issuer: issuer, Audience: "bursar-a", Algorithms: []string{"RS256"}, ScopeClaim: "scope", UpdatedAt: time.Now()}
	wantErr(t, st.PutOAuthProvider(ctx, clash), errs.Conflict, "already_exists")
	p2 := &auth.OAuthProvider{OrgID: o2.ID, Issuer: issuer, Audience: "bursar-b", Algorithms: []string{"RS256"}, ScopeClaim: "scope", UpdatedAt: time.Now()}
	must(t, st.PutOAuthProvider(ctx, p2))
	list, err := st.OAuthProvidersByIssuer(ctx, issuer)
	must(t, err)
	if len(list) != 2 || list[0].OrgID != o1.ID || list[1].OrgID != o2.ID {
		t.Fatalf("providers of the issuer: %+v, want o1's then o2's", list)
	}
	none, err := st.OAuthProvidersByIssuer(ctx, issuer+"/other")
	must(t, err)
	if len(none) != 0 {
		t.Errorf("providers of an unknown issuer: %+v", none)
	}

	// A put replaces the whole configuration.
	p1b := &auth.OAuthProvider{OrgID: o1.ID, Issuer: issuer + "/v2", Audience: "bursar-a", Algorithms: []string{"EdDSA"},
		ScopeClaim: "scp", UpdatedAt: stored.Add(time.Hour)}
	must(t, st.PutOAuthProvider(ctx, p1b))
	got, err = st.GetOAuthProvider(ctx, o1.ID)
	must(t, err)
	sameJSON(t, "replaced provider", got, p1b)
	list, err = st.OAuthProvidersByIssuer(ctx, issuer)
	must(t, err)
	if len(list) != 1 || list[0].OrgID != o2.ID {
		t.Errorf("providers of the old issuer after the change: %+v, want only o2's", list)
	}

	must(t, st.DeleteOAuthProvider(ctx, o1.ID))
	_, err = st.GetOAuthProvider(ctx, o1.ID)
	wantErr(t, err, errs.NotFound, "not_found")
	wantErr(t, st.DeleteOAuthProvider(ctx, o1.ID), errs.NotFound, "not_found")
	if _, err := st.GetOAuthProvider(ctx, o2.ID); err != nil {
		t.Errorf("deleting o1's provider touched o2's: %v", err)
	}
}
