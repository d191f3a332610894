package mfa_test

import (
	"testing"
	"time"

	"bursar/internal/auth/mfa"
)

// TestASVS_7_5_1_StepUpFreshness: a sensitive change (email, password,
// MFA factors, API keys) needs an authentication of the last 5 minutes.
func TestASVS_7_5_1_StepUpFreshness(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"just now", now, true},
		{"4m59s ago", now.Add(-4*time.Minute - 59*time.Second), true},
		{"exactly 5m ago", now.Add(-5 * time.Minute), true},
		{"5m01s ago", now.Add(-5*time.Minute - time.Second), false},
		{"an hour ago", now.Add(-time.Hour), false},
		{"never", time.Time{}, false},
		{"10s ahead (another replica's clock)", now.Add(10 * time.Second), true},
		{"an hour ahead", now.Add(time.Hour), false},
	} {
		if got := mfa.Fresh(c.at, now); got != c.want {
			t.Errorf("Fresh(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestASVS_6_3_3_OrgRequiresMFA: in an organization that requires MFA, a
// member without a second factor must enrol before anything else; one
// with TOTP or a passkey need not; recovery codes alone do not count.
func TestASVS_6_3_3_OrgRequiresMFA(t *testing.T) {
	e := newEnv(t)
	orgID, other := e.newOrg(t), e.newOrg(t)
	if err := e.svc.SetRequired(ctx, orgID, true); err != nil {
		t.Fatal(err)
	}
	if r, err := e.svc.RequiredFor(ctx, orgID); err != nil || !r {
		t.Fatalf("RequiredFor = %v, %v; want true", r, err)
	}
	bare := e.newAccount(t)
	withTOTP, _, _ := enrolTOTP(t, e)
	withPasskey := e.newAccount(t)
	e.register(t, withPasskey, "Key")
	onlyCodes := e.newAccount(t)
	if _, err := e.svc.RegenerateRecoveryCodes(ctx, onlyCodes.UserID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		org    string
		userID string
		want   bool
	}{
		{"no factor", orgID, bare.UserID, true},
		{"recovery codes only", orgID, onlyCodes.UserID, true},
		{"totp", orgID, withTOTP.UserID, false},
		{"passkey", orgID, withPasskey.UserID, false},
		{"no factor, org without the rule", other, bare.UserID, false},
	} {
		got, err := e.svc.MustEnrol(ctx, c.org, c.userID)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: MustEnrol = %v, want %v", c.name, got, c.want)
		}
	}
}
