package mfa_test

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"bursar/internal/auth/mfa"
)

var recoveryCodeForm = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){5}$`)

// TestASVS_6_5_2_RecoveryCodesHashedWithEnoughEntropy: codes carry 120
// random bits (more than the 112 that allow a plain hash, and far more
// than 6.5.4's 20), and the store holds only their hashes.
func TestASVS_6_5_2_RecoveryCodesHashedWithEnoughEntropy(t *testing.T) {
	e := newEnv(t)
	_, _, codes := enrolTOTP(t, e)
	seen := map[string]bool{}
	for _, c := range codes {
		if !recoveryCodeForm.MatchString(c) {
			t.Errorf("code %q: want six groups of four Crockford base32 characters (120 bits)", c)
		}
		if seen[c] {
			t.Errorf("code %q given twice", c)
		}
		seen[c] = true
	}
	rows, err := e.st.DB().QueryContext(ctx, "SELECT hash FROM mfa_recovery_codes")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		n++
		if len(h) != 32 {
			t.Errorf("stored %d bytes, want a SHA-256 hash", len(h))
		}
		for _, c := range codes {
			if bytes.Contains(h, []byte(strings.ReplaceAll(c, "-", ""))) {
				t.Errorf("a code is stored in clear")
			}
		}
	}
	if n != mfa.RecoveryCodeCount {
		t.Fatalf("stored %d codes, want %d", n, mfa.RecoveryCodeCount)
	}
}

// TestASVS_6_5_1_RecoveryCodeUsableOnce: a code is accepted once, in any
// spelling, and even by concurrent requests only once.
func TestASVS_6_5_1_RecoveryCodeUsableOnce(t *testing.T) {
	e := newEnv(t)
	a, _, codes := enrolTOTP(t, e)
	left, err := e.svc.UseRecoveryCode(ctx, a.UserID, strings.ToLower(codes[0]))
	if err != nil {
		t.Fatal(err)
	}
	if left != mfa.RecoveryCodeCount-1 {
		t.Fatalf("left = %d, want %d", left, mfa.RecoveryCodeCount-1)
	}
	if ev := e.lastEvent(t); ev.Action != mfa.ActionRecoveryCodeUsed || ev.Remaining != left {
		t.Fatalf("last event = %+v, want recovery code used with %d left", ev, left)
	}
	_, err = e.svc.UseRecoveryCode(ctx, a.UserID, codes[0])
	wantFailed(t, e, err, mfa.ReasonWrongCode)

	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.svc.UseRecoveryCode(ctx, a.UserID, codes[1]); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := ok.Load(); n != 1 {
		t.Fatalf("one code accepted %d times, want once", n)
	}
	// Another user's code, and garbage, are refused.
	b, _, other := enrolTOTP(t, e)
	_, err = e.svc.UseRecoveryCode(ctx, a.UserID, other[0])
	wantFailed(t, e, err, mfa.ReasonWrongCode)
	_, err = e.svc.UseRecoveryCode(ctx, b.UserID, "not a code")
	wantFailed(t, e, err, mfa.ReasonWrongCode)
}

func TestRegenerateRecoveryCodes(t *testing.T) {
	e := newEnv(t)
	a, _, old := enrolTOTP(t, e)
	fresh, err := e.svc.RegenerateRecoveryCodes(ctx, a.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != mfa.RecoveryCodeCount {
		t.Fatalf("regenerated %d codes, want %d", len(fresh), mfa.RecoveryCodeCount)
	}
	_, err = e.svc.UseRecoveryCode(ctx, a.UserID, old[0])
	wantFailed(t, e, err, mfa.ReasonWrongCode)
	if _, err := e.svc.UseRecoveryCode(ctx, a.UserID, fresh[9]); err != nil {
		t.Fatalf("a new code: %v", err)
	}
	if n := len(e.eventsOf(mfa.ActionRecoveryCodesNew)); n != 2 {
		t.Fatalf("%d recovery codes events, want 2 (enrolment and regeneration)", n)
	}
}
