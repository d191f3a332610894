package mfa_test

import (
	"bytes"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"bursar/internal/auth/mfa"
	"bursar/internal/errs"
)

// code is what an authenticator app shows at t for the enrolment's secret.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolTOTP enrols and confirms TOTP for a new account at e.now and moves
// the clock past the confirming code's step.
func enrolTOTP(t *testing.T, e *env) (mfa.Account, string, []string) {
	t.Helper()
	a := e.newAccount(t)
	en, err := e.svc.BeginTOTP(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := e.svc.ConfirmTOTP(ctx, a.UserID, code(t, en.Secret, e.now))
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	e.now = e.now.Add(mfa.TOTPPeriod)
	return a, en.Secret, codes
}

func wantFailed(t *testing.T, e *env, err error, reason string) {
	t.Helper()
	if !errors.Is(err, mfa.ErrVerification) || errs.CodeOf(err) != "mfa_failed" || errs.KindOf(err) != errs.Unauthorized {
		t.Fatalf("err = %v, want ErrVerification", err)
	}
	if ev := e.lastEvent(t); ev.Action != mfa.ActionVerificationFailed || ev.Reason != reason {
		t.Fatalf("last event = %+v, want %s with reason %s", ev, mfa.ActionVerificationFailed, reason)
	}
}

func TestTOTPEnrolmentURI(t *testing.T) {
	e := newEnv(t)
	a := e.newAccount(t)
	en, err := e.svc.BeginTOTP(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(en.URI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Bursar:"+a.Email {
		t.Errorf("URI %s: want otpauth://totp/Bursar:%s", en.URI, a.Email)
	}
	for k, want := range map[string]string{"secret": en.Secret, "issuer": "Bursar", "period": "30", "digits": "6", "algorithm": "SHA1"} {
		if got := q.Get(k); got != want {
			t.Errorf("URI %s = %q, want %q", k, got, want)
		}
	}
	if len(en.Secret) != 32 { // 160 bits in base32
		t.Errorf("secret %q: want 32 base32 characters (160 bits)", en.Secret)
	}
}

// TestTOTPSecretSealed proves the stored secret is the sealer's output,
// bound to the user's row: not the secret, and not openable as another
// user's.
func TestTOTPSecretSealed(t *testing.T) {
	e := newEnv(t)
	a := e.newAccount(t)
	en, err := e.svc.BeginTOTP(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.st.GetTOTP(ctx, a.UserID)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := otp.NewKeyFromURL(en.URI)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.Secret, []byte(raw.Secret())) {
		t.Fatal("the stored secret holds the secret in clear")
	}
	if _, err := e.svc.Sealer.Open(ctx, mfa.UserOwner("usr_other"), "mfa_totp", "secret", "usr_other", stored.Secret); err == nil {
		t.Fatal("the sealed secret opened for another user's row")
	}
}

func TestTOTPConfirm(t *testing.T) {
	e := newEnv(t)
	a := e.newAccount(t)
	en, err := e.svc.BeginTOTP(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	// Not active until confirmed.
	wantFailed(t, e, e.svc.VerifyTOTP(ctx, a.UserID, code(t, en.Secret, e.now)), mfa.ReasonNotEnrolled)
	if has, _ := e.svc.HasSecondFactor(ctx, a.UserID); has {
		t.Fatal("a pending secret counts as a second factor")
	}
	_, err = e.svc.ConfirmTOTP(ctx, a.UserID, "000000")
	if code(t, en.Secret, e.now) != "000000" {
		wantFailed(t, e, err, mfa.ReasonWrongCode)
	}
	c := code(t, en.Secret, e.now)
	codes, err := e.svc.ConfirmTOTP(ctx, a.UserID, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("recovery codes at first enrolment = %d, want %d", len(codes), mfa.RecoveryCodeCount)
	}
	if ev := e.eventsOf(mfa.ActionEnrolled); len(ev) != 1 || ev[0].Factor != mfa.FactorTOTP || ev[0].UserID != a.UserID {
		t.Fatalf("enrolled events = %+v", ev)
	}
	// The confirming code does not sign in.
	wantFailed(t, e, e.svc.VerifyTOTP(ctx, a.UserID, c), mfa.ReasonReplayed)
	if has, _ := e.svc.HasSecondFactor(ctx, a.UserID); !has {
		t.Fatal("a confirmed secret is not a second factor")
	}
	// A second enrolment must remove the first.
	_, err = e.svc.BeginTOTP(ctx, a)
	if errs.CodeOf(err) != "totp_enabled" {
		t.Fatalf("BeginTOTP with TOTP enabled: err = %v, want totp_enabled", err)
	}
	if err := e.svc.RemoveTOTP(ctx, a.UserID); err != nil {
		t.Fatal(err)
	}
	if ev := e.lastEvent(t); ev.Action != mfa.ActionRemoved || ev.Factor != mfa.FactorTOTP {
		t.Fatalf("last event = %+v, want removed totp", ev)
	}
	e.now = e.now.Add(time.Minute)
	wantFailed(t, e, e.svc.VerifyTOTP(ctx, a.UserID, code(t, en.Secret, e.now)), mfa.ReasonNotEnrolled)
}

// TestASVS_6_5_1_TOTPUsableOnce: a code is accepted once; after it, codes
// of its step and of earlier steps are refused too.
func TestASVS_6_5_1_TOTPUsableOnce(t *testing.T) {
	e := newEnv(t)
	a, secret, _ := enrolTOTP(t, e)
	c := code(t, secret, e.now)
	if err := e.svc.VerifyTOTP(ctx, a.UserID, c); err != nil {
		t.Fatalf("first use: %v", err)
	}
	wantFailed(t, e, e.svc.VerifyTOTP(ctx, a.UserID, c), mfa.ReasonReplayed)
	// The next step's code works, and then the previous step's is refused
	// although it is within the drift.
	next := e.now.Add(mfa.TOTPPeriod)
	e.now = next
	if err := e.svc.VerifyTOTP(ctx, a.UserID, code(t, secret, next)); err != nil {
		t.Fatalf("next step: %v", err)
	}
	wantFailed(t, e, e.svc.VerifyTOTP(ctx, a.UserID, code(t, secret, next.Add(-mfa.TOTPPeriod))), mfa.ReasonReplayed)
}

// TestASVS_6_5_1_TOTPUsableOnceConcurrent: of many requests with one code
// at once, exactly one is accepted.
func TestASVS_6_5_1_TOTPUsableOnceConcurrent(t *testing.T) {
	e := newEnv(t)
	a, secret, _ := enrolTOTP(t, e)
	c := code(t, secret, e.now)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e.svc.VerifyTOTP(ctx, a.UserID, c) == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := ok.Load(); n != 1 {
		t.Fatalf("one code accepted %d times, want once", n)
	}
}

// TestASVS_6_5_5_TOTPLifetime: a code is valid in its own 30-second step
// and one step either way (clock drift), never beyond.
func TestASVS_6_5_5_TOTPLifetime(t *testing.T) {
	for _, c := range []struct {
		offset time.Duration // of the app's clock from the server's
		ok     bool
	}{
		{0, true}, {-30 * time.Second, true}, {30 * time.Second, true},
		{-60 * time.Second, false}, {60 * time.Second, false}, {-10 * time.Minute, false},
	} {
		t.Run(c.offset.String(), func(t *testing.T) {
			e := newEnv(t)
			a, secret, _ := enrolTOTP(t, e)
			e.now = e.now.Add(10 * time.Minute)
			err := e.svc.VerifyTOTP(ctx, a.UserID, code(t, secret, e.now.Add(c.offset)))
			if c.ok && err != nil {
				t.Fatalf("code %v off: %v, want accepted", c.offset, err)
			}
			if !c.ok {
				wantFailed(t, e, err, mfa.ReasonWrongCode)
			}
		})
	}
}

func TestTOTPMalformedCodes(t *testing.T) {
	e := newEnv(t)
	a, secret, _ := enrolTOTP(t, e)
	good := code(t, secret, e.now)
	for _, c := range []string{"", "12345", "1234567", "abcdef", good + "0", "-" + good[1:]} {
		wantFailed(t, e, e.svc.VerifyTOTP(ctx, a.UserID, c), mfa.ReasonWrongCode)
	}
	if err := e.svc.VerifyTOTP(ctx, a.UserID, " "+good[:3]+" "+good[3:]+" "); err != nil {
		t.Fatalf("code with spaces: %v, want accepted", err)
	}
}
