package storetest

import (
	"context"
	"testing"
	"time"

	"bursar/internal/errs"
	"bursar/internal/guard"
	"bursar/internal/store/sqlstore"
)

// Guard tests the guard's storage: address rules keep every field, list
// oldest first and delete once; an organization's own rate limits are
// replaced whole and kept apart from another organization's.
func Guard(t *testing.T, st *sqlstore.Store) {
	ctx := context.Background()
	t.Run("IPRules", func(t *testing.T) {
		exp := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
		a := &guard.IPRule{ID: newID("ipr"), Action: guard.Deny, CIDR: "203.0.113.0/24", Note: "scanner",
			CreatedBy: "cli:alice", CreatedAt: time.Now(), ExpiresAt: &exp}
		must(t, st.InsertIPRule(ctx, a))
		b := &guard.IPRule{ID: newID("ipr"), Action: guard.Allow, CIDR: "2001:db8::/32", CreatedBy: "api_key:key_1", CreatedAt: time.Now()}
		must(t, st.InsertIPRule(ctx, b))
		got, err := st.ListIPRules(ctx)
		must(t, err)
		sameJSON(t, "rules", got, []*guard.IPRule{a, b})
		del, err := st.DeleteIPRule(ctx, a.ID)
		must(t, err)
		sameJSON(t, "deleted rule", del, a)
		_, err = st.DeleteIPRule(ctx, a.ID)
		wantErr(t, err, errs.NotFound, "not_found")
		got, err = st.ListIPRules(ctx)
		must(t, err)
		sameJSON(t, "rules after delete", got, []*guard.IPRule{b})
		_, err = st.DeleteIPRule(ctx, b.ID)
		must(t, err)
	})
	t.Run("OrgRateLimits", func(t *testing.T) {
		o1, o2 := newOrg(t, st), newOrg(t, st)
		none, err := st.OrgRateLimits(ctx, o1.ID)
		must(t, err)
		if len(none) != 0 {
			t.Fatalf("a new organization has limits %v", none)
		}
		first := []guard.OrgLimit{
			{Class: guard.ClassAPI, Scope: guard.ScopeKey, Requests: 10, PeriodSeconds: 1, Burst: 20},
			{Class: guard.ClassEvents, Scope: guard.ScopeOrg, Requests: 6000, PeriodSeconds: 60, Burst: 500},
		}
		must(t, st.SetOrgRateLimits(ctx, o1.ID, first, time.Now()))
		got, err := st.OrgRateLimits(ctx, o1.ID)
		must(t, err)
		sameJSON(t, "limits", got, first)
		other, err := st.OrgRateLimits(ctx, o2.ID)
		must(t, err)
		if len(other) != 0 {
			t.Errorf("another organization sees limits %v", other)
		}
		second := []guard.OrgLimit{{Class: guard.ClassAPI, Scope: guard.ScopeOrg, Requests: 1, PeriodSeconds: 3600, Burst: 1}}
		must(t, st.SetOrgRateLimits(ctx, o1.ID, second, time.Now()))
		got, err = st.OrgRateLimits(ctx, o1.ID)
		must(t, err)
		sameJSON(t, "replaced limits", got, second)
	})
}
