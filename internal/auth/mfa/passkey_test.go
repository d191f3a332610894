package mfa_test

import (
	"testing"
	"time"

	"bursar/internal/auth/mfa"
	"bursar/internal/auth/mfa/mfatest"
	"bursar/internal/errs"
)

// loginAsSecondFactor runs a second-factor passkey sign-in with dev.
func loginAsSecondFactor(t *testing.T, e *env, a mfa.Account, dev *mfatest.Authenticator, step uint32) (*mfa.Passkey, error) {
	t.Helper()
	assertion, id, err := e.svc.BeginPasskeyLogin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return e.svc.FinishPasskeyLogin(ctx, a, id, dev.Get(t, assertion, step))
}

// loginAlone runs a discoverable ("passkey alone") sign-in with dev.
func loginAlone(t *testing.T, e *env, dev *mfatest.Authenticator, step uint32) (string, *mfa.Passkey, error) {
	t.Helper()
	assertion, id, err := e.svc.BeginDiscoverableLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(assertion.Response.AllowedCredentials) != 0 {
		t.Fatal("a discoverable sign-in names credentials")
	}
	return e.svc.FinishDiscoverableLogin(ctx, id, dev.Get(t, assertion, step))
}

// TestPasskeyEndToEnd registers two passkeys with software authenticators
// and signs in with each, as second factor and alone.
func TestPasskeyEndToEnd(t *testing.T) {
	e := newEnv(t)
	a := e.newAccount(t)
	phone, p1, codes := e.register(t, a, "  Phone  ")
	if p1.Name != "Phone" || len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("first passkey %q with %d recovery codes, want \"Phone\" with %d", p1.Name, len(codes), mfa.RecoveryCodeCount)
	}
	e.now = e.now.Add(time.Second)
	key, p2, codes := e.register(t, a, "YubiKey")
	if codes != nil {
		t.Fatalf("a second factor gave %d new recovery codes, want none: the first ones are unused", len(codes))
	}
	ps, err := e.svc.ListPasskeys(ctx, a.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].ID != p1.ID || ps[1].ID != p2.ID {
		t.Fatalf("passkeys = %v, want %s and %s", ps, p1.ID, p2.ID)
	}
	if has, _ := e.svc.HasSecondFactor(ctx, a.UserID); !has {
		t.Fatal("passkeys are not a second factor")
	}

	got, err := loginAsSecondFactor(t, e, a, phone, 1)
	if err != nil {
		t.Fatalf("second factor: %v", err)
	}
	if got.ID != p1.ID || got.SignCount != 1 {
		t.Fatalf("signed in with %s count %d, want %s count 1", got.ID, got.SignCount, p1.ID)
	}
	user, got, err := loginAlone(t, e, key, 1)
	if err != nil {
		t.Fatalf("passkey alone: %v", err)
	}
	if user != a.UserID || got.ID != p2.ID {
		t.Fatalf("passkey alone proved %s with %s, want %s with %s", user, got.ID, a.UserID, p2.ID)
	}

	// Renamed and removed: the removed one no longer signs in.
	if err := e.svc.RenamePasskey(ctx, a.UserID, p2.ID, "Old key"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RenamePasskey(ctx, a.UserID, p2.ID, " \t"); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("empty name: err = %v, want invalid", err)
	}
	if err := e.svc.RemovePasskey(ctx, a.UserID, p2.ID); err != nil {
		t.Fatal(err)
	}
	if ev := e.lastEvent(t); ev.Action != mfa.ActionRemoved || ev.PasskeyID != p2.ID || ev.Name != "Old key" {
		t.Fatalf("last event = %+v, want removal of %s", ev, p2.ID)
	}
	_, _, err = loginAlone(t, e, key, 1)
	wantFailed(t, e, err, mfa.ReasonInvalid)
	if _, err := loginAsSecondFactor(t, e, a, phone, 1); err != nil {
		t.Fatalf("the remaining passkey: %v", err)
	}
}

// TestPasskeyOfAnotherUser: a passkey of one user is no second factor of
// another.
func TestPasskeyOfAnotherUser(t *testing.T) {
	e := newEnv(t)
	a, b := e.newAccount(t), e.newAccount(t)
	e.register(t, a, "A's key")
	bKey, _, _ := e.register(t, b, "B's key")
	_, err := loginAsSecondFactor(t, e, a, bKey, 1)
	wantFailed(t, e, err, mfa.ReasonInvalid)
}

// TestPasskeyCloneDetected: an assertion whose signature counter does not
// grow (a cloned key, or a replayed response) is refused, and the passkey
// is refused from then on.
func TestPasskeyCloneDetected(t *testing.T) {
	e := newEnv(t)
	a := e.newAccount(t)
	dev, _, _ := e.register(t, a, "Key")
	if _, err := loginAsSecondFactor(t, e, a, dev, 5); err != nil {
		t.Fatal(err)
	}
	clone := *dev
	clone.Counter = 2 // a copy of the key that signed fewer times
	_, err := loginAsSecondFactor(t, e, a, &clone, 1)
	wantFailed(t, e, err, mfa.ReasonCloneDetected)
	_, err = loginAsSecondFactor(t, e, a, dev, 10)
	wantFailed(t, e, err, mfa.ReasonCloneDetected)
	ps, _ := e.svc.ListPasskeys(ctx, a.UserID)
	if !ps[0].CloneWarning {
		t.Fatal("the passkey is not flagged")
	}
}

// TestPasskeyWithoutCounter: an authenticator that keeps no counter
// (always 0, as synced passkeys do) signs in every time.
func TestPasskeyWithoutCounter(t *testing.T) {
	e := newEnv(t)
	a := e.newAccount(t)
	dev, _, _ := e.register(t, a, "Synced")
	for range 3 {
		if _, err := loginAsSecondFactor(t, e, a, dev, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPasskeyCeremonies: a ceremony answers once, only before it expires,
// only for its own origin and challenge.
func TestPasskeyCeremonies(t *testing.T) {
	e := newEnv(t)
	a := e.newAccount(t)
	dev, _, _ := e.register(t, a, "Key")

	assertion, id, err := e.svc.BeginPasskeyLogin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	resp := dev.Get(t, assertion, 1)
	if _, err := e.svc.FinishPasskeyLogin(ctx, a, id, resp); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.FinishPasskeyLogin(ctx, a, id, resp)
	wantFailed(t, e, err, mfa.ReasonExpired)

	assertion, id, err = e.svc.BeginPasskeyLogin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(mfa.CeremonyTTL + time.Second)
	_, err = e.svc.FinishPasskeyLogin(ctx, a, id, dev.Get(t, assertion, 1))
	wantFailed(t, e, err, mfa.ReasonExpired)

	phish := *dev
	phish.Origin = "https://bursar.example.evil"
	assertion, id, err = e.svc.BeginPasskeyLogin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.FinishPasskeyLogin(ctx, a, id, phish.Get(t, assertion, 1))
	wantFailed(t, e, err, mfa.ReasonInvalid)

	// A response to one ceremony does not finish another.
	first, _, err := e.svc.BeginPasskeyLogin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	_, id, err = e.svc.BeginPasskeyLogin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.FinishPasskeyLogin(ctx, a, id, dev.Get(t, first, 1))
	wantFailed(t, e, err, mfa.ReasonInvalid)

	// Another user's ceremony is not this user's.
	b := e.newAccount(t)
	_, id, err = e.svc.BeginPasskeyRegistration(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.FinishPasskeyRegistration(ctx, a, id, "Key", []byte("{}"))
	wantFailed(t, e, err, mfa.ReasonExpired)
}

// TestPasskeyAloneRequiresUserVerification: signing in with a passkey
// alone needs the authenticator to verify the user (PIN, biometrics), so
// that it stands for two factors.
func TestPasskeyAloneRequiresUserVerification(t *testing.T) {
	e := newEnv(t)
	a := e.newAccount(t)
	dev, _, _ := e.register(t, a, "Key")
	dev.UV = false
	_, _, err := loginAlone(t, e, dev, 1)
	wantFailed(t, e, err, mfa.ReasonInvalid)
	if _, err := loginAsSecondFactor(t, e, a, dev, 1); err != nil {
		t.Fatalf("second factor without user verification: %v, want accepted", err)
	}
}
