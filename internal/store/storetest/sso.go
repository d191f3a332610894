package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"bursar/internal/auth"
	"bursar/internal/auth/sso"
	"bursar/internal/errs"
	"bursar/internal/store/sqlstore"
)

// SSO tests the storage of organizations' single sign-on: every field
// kept, the client secret sealed at rest (on a store with a vault), one
// configuration per organization replaced whole, deletion with the flows
// in progress; and flows taken exactly once, their PKCE verifier sealed,
// expired ones dropped.
func SSO(t *testing.T, st *sqlstore.Store) {
	ctx := context.Background()
	o1, o2 := newOrg(t, st), newOrg(t, st)
	_, err := st.GetSSOConfig(ctx, o1.ID)
	wantErr(t, err, errs.NotFound, "not_found")

	const secret = "client-secret-that-must-not-be-stored-in-clear"
	c1 := &sso.Config{OrgID: o1.ID, Issuer: "https://idp.example.com/realms/acme", ClientID: "bursar", ClientSecret: secret,
		AllowedDomains: []string{"acme.example", "acme.test"}, CreateMembers: true, DefaultRole: auth.RoleAccountant,
		Enabled: true, UpdatedAt: at}
	must(t, st.PutSSOConfig(ctx, c1))
	got, err := st.GetSSOConfig(ctx, o1.ID)
	must(t, err)
	want := *c1
	want.UpdatedAt = stored
	sameJSON(t, "configuration", got, &want)
	_, err = st.GetSSOConfig(ctx, o2.ID)
	wantErr(t, err, errs.NotFound, "not_found")
	if st.Vault() != nil {
		raw := rawColumn(t, st, "SELECT client_secret FROM sso_configs", len(secret))
		if strings.Contains(raw, secret) || !strings.HasPrefix(raw, "sealed:") {
			t.Errorf("client_secret at rest = %q, want it sealed", raw)
		}
	}

	// A put replaces the whole configuration.
	c1b := &sso.Config{OrgID: o1.ID, Issuer: "https://login.example.net/v2", ClientID: "bursar-2", ClientSecret: "other",
		AllowedDomains: []string{}, DefaultRole: auth.RoleViewer, UpdatedAt: stored.Add(time.Hour)}
	must(t, st.PutSSOConfig(ctx, c1b))
	got, err = st.GetSSOConfig(ctx, o1.ID)
	must(t, err)
	sameJSON(t, "replaced configuration", got, c1b)

	// Flows: taken once, by anyone who knows the state's hash.
	now := time.Now().UTC().Truncate(time.Microsecond)
	f := &sso.Flow{StateHash: auth.HashSecret(newID("state")), BrowserHash: auth.HashSecret(newID("browser")), OrgID: o1.ID,
		Nonce: "nonce-1", Verifier: "verifier-that-is-sealed-at-rest-0123456789abcdef", Next: "/sessions", CreatedAt: now,
		ExpiresAt: now.Add(sso.FlowTTL)}
	must(t, st.InsertSSOFlow(ctx, f))
	if st.Vault() != nil {
		raw := rawColumn(t, st, "SELECT verifier FROM sso_flows", len(f.Verifier))
		if strings.Contains(raw, f.Verifier) {
			t.Errorf("verifier at rest = %q, want it sealed", raw)
		}
	}
	taken, err := st.TakeSSOFlow(ctx, f.StateHash)
	must(t, err)
	sameJSON(t, "taken flow", taken, f)
	_, err = st.TakeSSOFlow(ctx, f.StateHash)
	wantErr(t, err, errs.NotFound, "not_found")

	// A new flow drops those that expired before it began.
	old := &sso.Flow{StateHash: auth.HashSecret(newID("state")), BrowserHash: []byte{1}, OrgID: o2.ID, Nonce: "n", Verifier: "v",
		Next: "/", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Hour + sso.FlowTTL)}
	must(t, st.InsertSSOFlow(ctx, old))
	fresh := &sso.Flow{StateHash: auth.HashSecret(newID("state")), BrowserHash: []byte{2}, OrgID: o1.ID, Nonce: "n", Verifier: "v",
		Next: "/", CreatedAt: now, ExpiresAt: now.Add(sso.FlowTTL)}
	must(t, st.InsertSSOFlow(ctx, fresh))
	_, err = st.TakeSSOFlow(ctx, old.StateHash)
	wantErr(t, err, errs.NotFound, "not_found")

	// Deleting the configuration ends its flows in progress.
	must(t, st.DeleteSSOConfig(ctx, o1.ID))
	_, err = st.GetSSOConfig(ctx, o1.ID)
	wantErr(t, err, errs.NotFound, "not_found")
	_, err = st.TakeSSOFlow(ctx, fresh.StateHash)
	wantErr(t, err, errs.NotFound, "not_found")
	wantErr(t, st.DeleteSSOConfig(ctx, o1.ID), errs.NotFound, "not_found")
}

// rawColumn returns the one stored value of a query's single column that
// is at least min long: tables hold other tests' rows too.
func rawColumn(t *testing.T, st *sqlstore.Store, query string, min int) string {
	t.Helper()
	rows, err := st.DB().QueryContext(context.Background(), query)
	must(t, err)
	defer rows.Close()
	var out string
	for rows.Next() {
		var v string
		must(t, rows.Scan(&v))
		if len(v) >= min {
			out = v
		}
	}
	must(t, rows.Err())
	if out == "" {
		t.Fatalf("%s: no value", query)
	}
	return out
}
