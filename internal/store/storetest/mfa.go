package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/errs"
	"bursar/internal/store/sqlstore"
)

// MFA tests the storage of second factors: TOTP secrets whose last
// accepted step only grows, and grows once per step under concurrent
// writers; recovery codes used once; passkeys whose signature counter only
// grows; WebAuthn ceremonies taken once; and the organization's
// MFA-required flag. Every write names the user, and one user's factors
// are out of another's reach.
func MFA(t *testing.T, st *sqlstore.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, st *sqlstore.Store)
	}{
		{"TOTP", testMFATOTP},
		{"TOTPStepOnceConcurrent", testMFATOTPConcurrent},
		{"RecoveryCodes", testMFARecoveryCodes},
		{"Passkeys", testMFAPasskeys},
		{"Ceremonies", testMFACeremonies},
		{"OrgRequired", testMFAOrgRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, st)
		})
	}
}

// mfaUser stores a new user with no factor.
func mfaUser(t *testing.T, st *sqlstore.Store) *auth.User {
	t.Helper()
	id := newID("usr")
	u := &auth.User{ID: id, Email: id + "@example.com", Name: "Ada", CreatedAt: at}
	must(t, st.InsertUser(ctx, u))
	return u
}

func testMFATOTP(t *testing.T, st *sqlstore.Store) {
	u, other := mfaUser(t, st), mfaUser(t, st)
	_, err := st.GetTOTP(ctx, u.ID)
	wantErr(t, err, errs.NotFound, "not_found")

	first := &mfa.TOTP{UserID: u.ID, Secret: []byte("sealed-1"), CreatedAt: at}
	must(t, st.PutPendingTOTP(ctx, first))
	second := &mfa.TOTP{UserID: u.ID, Secret: []byte("sealed-2"), CreatedAt: at.Add(time.Minute)}
	must(t, st.PutPendingTOTP(ctx, second)) // replaces the pending one
	got, err := st.GetTOTP(ctx, u.ID)
	must(t, err)
	sameJSON(t, "pending totp", got, second)

	ok, err := st.AcceptTOTPStep(ctx, u.ID, 100)
	must(t, err)
	if ok {
		t.Fatal("a step was accepted for a pending secret")
	}
	ok, err = st.ConfirmTOTP(ctx, u.ID, 100, at)
	must(t, err)
	if !ok {
		t.Fatal("ConfirmTOTP of a pending secret = false")
	}
	if ok, _ = st.ConfirmTOTP(ctx, u.ID, 101, at); ok {
		t.Fatal("a confirmed secret was confirmed again")
	}
	got, err = st.GetTOTP(ctx, u.ID)
	must(t, err)
	if got.ConfirmedAt == nil || !got.ConfirmedAt.Equal(stored) || got.LastStep != 100 {
		t.Fatalf("confirmed totp = %+v, want confirmed at %v with last step 100", got, stored)
	}
	wantErr(t, st.PutPendingTOTP(ctx, &mfa.TOTP{UserID: u.ID, Secret: []byte("x"), CreatedAt: at}), errs.Conflict, "totp_enabled")

	for _, c := range []struct {
		step int64
		want bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
		ok, err := st.AcceptTOTPStep(ctx, u.ID, c.step)
		must(t, err)
		if ok != c.want {
			t.Errorf("AcceptTOTPStep(%d) = %v, want %v", c.step, ok, c.want)
		}
	}
	if ok, _ := st.AcceptTOTPStep(ctx, other.ID, 200); ok {
		t.Error("a step was accepted for a user without a secret")
	}
	wantErr(t, st.DeleteTOTP(ctx, other.ID), errs.NotFound, "not_found")
	must(t, st.DeleteTOTP(ctx, u.ID))
	_, err = st.GetTOTP(ctx, u.ID)
	wantErr(t, err, errs.NotFound, "not_found")
}

// testMFATOTPConcurrent proves that of many writers accepting the same
// step at once (as replicas checking one code would), exactly one wins.
func testMFATOTPConcurrent(t *testing.T, st *sqlstore.Store) {
	u := mfaUser(t, st)
	must(t, st.PutPendingTOTP(ctx, &mfa.TOTP{UserID: u.ID, Secret: []byte("s"), CreatedAt: at}))
	if ok, err := st.ConfirmTOTP(ctx, u.ID, 1, at); !ok || err != nil {
		t.Fatalf("ConfirmTOTP = %v, %v", ok, err)
	}
	for step := int64(2); step < 7; step++ {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := st.AcceptTOTPStep(context.Background(), u.ID, step)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("step %d accepted %d times, want once", step, n)
		}
	}
}

func testMFARecoveryCodes(t *testing.T, st *sqlstore.Store) {
	u, other := mfaUser(t, st), mfaUser(t, st)
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	must(t, st.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("a"), hash("b"), hash("c")}, at))
	count := func(id string) int {
		t.Helper()
		n, err := st.CountRecoveryCodes(ctx, id)
		must(t, err)
		return n
	}
	if n := count(u.ID); n != 3 {
		t.Fatalf("codes = %d, want 3", n)
	}
	if ok, _ := st.UseRecoveryCode(ctx, other.ID, hash("a"), at); ok {
		t.Fatal("another user used the user's code")
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.UseRecoveryCode(context.Background(), u.ID, hash("a"), at)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("one code was used %d times, want once", n)
	}
	if n := count(u.ID); n != 2 {
		t.Fatalf("codes after a use = %d, want 2", n)
	}
	must(t, st.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("d")}, at))
	if ok, _ := st.UseRecoveryCode(ctx, u.ID, hash("b"), at); ok {
		t.Fatal("a replaced code was accepted")
	}
	if n := count(u.ID); n != 1 {
		t.Fatalf("codes after replacing = %d, want 1", n)
	}
	must(t, st.DeleteRecoveryCodes(ctx, u.ID))
	if n := count(u.ID); n != 0 {
		t.Fatalf("codes after delete = %d, want 0", n)
	}
}

func newPasskey(t *testing.T, st *sqlstore.Store, userID string, count uint32, created time.Time) *mfa.Passkey {
	t.Helper()
	id := newID("pkey")
	p := &mfa.Passkey{ID: id, UserID: userID, Name: "Laptop – Touch ID", SignCount: count, CreatedAt: created,
		Credential: webauthn.Credential{ID: []byte("cred-" + id), PublicKey: []byte{0xa5, 1, 2, 3, 0x26}, AttestationType: "none",
			Authenticator: webauthn.Authenticator{AAGUID: make([]byte, 16), SignCount: count}}}
	must(t, st.InsertPasskey(ctx, p))
	return p
}

func testMFAPasskeys(t *testing.T, st *sqlstore.Store) {
	u, other := mfaUser(t, st), mfaUser(t, st)
	a := newPasskey(t, st, u.ID, 5, at)
	b := newPasskey(t, st, u.ID, 0, at.Add(-time.Second)) // older, listed first
	newPasskey(t, st, other.ID, 0, at)

	ps, err := st.ListPasskeys(ctx, u.ID)
	must(t, err)
	if len(ps) != 2 || ps[0].ID != b.ID || ps[1].ID != a.ID {
		t.Fatalf("passkeys = %v, want %s then %s, oldest first", ps, b.ID, a.ID)
	}
	sameJSON(t, "passkey", ps[1], a)
	if !bytes.Equal(ps[1].Credential.PublicKey, a.Credential.PublicKey) || ps[1].Credential.Authenticator.SignCount != 5 {
		t.Fatalf("credential = %+v, want the stored public key and count 5", ps[1].Credential)
	}
	got, err := st.GetPasskeyByCredentialID(ctx, b.Credential.ID)
	must(t, err)
	if got.ID != b.ID || got.UserID != u.ID {
		t.Fatalf("by credential id: %s of %s, want %s of %s", got.ID, got.UserID, b.ID, u.ID)
	}
	_, err = st.GetPasskeyByCredentialID(ctx, []byte("nope"))
	wantErr(t, err, errs.NotFound, "not_found")
	dup := *a
	dup.ID = newID("pkey")
	wantErr(t, st.InsertPasskey(ctx, &dup), errs.Conflict, "already_exists")

	must(t, st.RenamePasskey(ctx, u.ID, a.ID, "YubiKey"))
	wantErr(t, st.RenamePasskey(ctx, other.ID, a.ID, "mine"), errs.NotFound, "not_found")

	for _, c := range []struct {
		id    string
		count uint32
		want  bool
	}{{a.ID, 5, false}, {a.ID, 4, false}, {a.ID, 6, true}, {a.ID, 0, false},
		{b.ID, 0, true}, {b.ID, 0, true}, {b.ID, 1, true}, {b.ID, 0, false}} {
		ok, err := st.AdvancePasskeyCounter(ctx, u.ID, c.id, c.count, at)
		must(t, err)
		if ok != c.want {
			t.Errorf("AdvancePasskeyCounter(%s, %d) = %v, want %v", c.id, c.count, ok, c.want)
		}
	}
	if ok, _ := st.AdvancePasskeyCounter(ctx, other.ID, a.ID, 100, at); ok {
		t.Error("another user advanced the user's passkey")
	}
	must(t, st.FlagPasskeyClone(ctx, u.ID, a.ID))
	if ok, _ := st.AdvancePasskeyCounter(ctx, u.ID, a.ID, 100, at); ok {
		t.Error("a passkey flagged as cloned was used")
	}
	ps, err = st.ListPasskeys(ctx, u.ID)
	must(t, err)
	if p := ps[1]; p.Name != "YubiKey" || p.SignCount != 6 || !p.CloneWarning || !p.Credential.Authenticator.CloneWarning ||
		p.LastUsedAt == nil || !p.LastUsedAt.Equal(stored) {
		t.Fatalf("after use: %+v", p)
	}

	_, err = st.DeletePasskey(ctx, other.ID, a.ID)
	wantErr(t, err, errs.NotFound, "not_found")
	del, err := st.DeletePasskey(ctx, u.ID, a.ID)
	must(t, err)
	if del.ID != a.ID || del.Name != "YubiKey" {
		t.Fatalf("deleted %+v, want %s named YubiKey", del, a.ID)
	}
	ps, err = st.ListPasskeys(ctx, u.ID)
	must(t, err)
	if len(ps) != 1 || ps[0].ID != b.ID {
		t.Fatalf("passkeys after delete = %v, want only %s", ps, b.ID)
	}
}

func testMFACeremonies(t *testing.T, st *sqlstore.Store) {
	u := mfaUser(t, st)
	c := &mfa.Ceremony{ID: newID("wac"), UserID: u.ID, Kind: mfa.CeremonyRegister, CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute),
		Session: webauthn.SessionData{Challenge: "Y2hhbGxlbmdlLWNoYWxsZW5nZQ", RelyingPartyID: "bursar.example", UserID: []byte(u.ID)}}
	must(t, st.InsertCeremony(ctx, c))
	_, err := st.TakeCeremony(ctx, c.ID, mfa.CeremonyLogin)
	wantErr(t, err, errs.NotFound, "not_found")
	got, err := st.TakeCeremony(ctx, c.ID, mfa.CeremonyRegister)
	must(t, err)
	if got.UserID != u.ID || got.Session.Challenge != c.Session.Challenge || !bytes.Equal(got.Session.UserID, []byte(u.ID)) ||
		!got.ExpiresAt.Equal(c.ExpiresAt) {
		t.Fatalf("ceremony = %+v, want %+v", got, c)
	}
	_, err = st.TakeCeremony(ctx, c.ID, mfa.CeremonyRegister)
	wantErr(t, err, errs.NotFound, "not_found")

	anon := &mfa.Ceremony{ID: newID("wac"), Kind: mfa.CeremonyPasskey, CreatedAt: at, ExpiresAt: at.Add(time.Minute),
		Session: webauthn.SessionData{Challenge: "YW5vdGhlci1jaGFsbGVuZ2U"}}
	must(t, st.InsertCeremony(ctx, anon))
	// Purge far in the future: every ceremony stored so far, this one included, has expired.
	n, err := st.DeleteExpiredCeremonies(ctx, at.Add(time.Hour))
	must(t, err)
	if n < 1 {
		t.Fatalf("deleted %d expired ceremonies, want at least 1", n)
	}
	_, err = st.TakeCeremony(ctx, anon.ID, mfa.CeremonyPasskey)
	wantErr(t, err, errs.NotFound, "not_found")

	kept := &mfa.Ceremony{ID: newID("wac"), Kind: mfa.CeremonyPasskey, CreatedAt: at, ExpiresAt: at.Add(time.Minute),
		Session: webauthn.SessionData{Challenge: "a2VwdA"}}
	must(t, st.InsertCeremony(ctx, kept))
	_, err = st.DeleteExpiredCeremonies(ctx, at)
	must(t, err)
	got, err = st.TakeCeremony(ctx, kept.ID, mfa.CeremonyPasskey)
	must(t, err)
	if got.UserID != "" {
		t.Fatalf("discoverable ceremony has user %q", got.UserID)
	}
}

func testMFAOrgRequired(t *testing.T, st *sqlstore.Store) {
	o, other := newOrg(t, st), newOrg(t, st)
	required := func(id string) bool {
		t.Helper()
		r, err := st.OrgMFARequired(ctx, id)
		must(t, err)
		return r
	}
	if required(o.ID) {
		t.Fatal("a new organization requires MFA")
	}
	must(t, st.SetOrgMFARequired(ctx, o.ID, true, at))
	if !required(o.ID) || required(other.ID) {
		t.Fatalf("required = %v, other = %v; want true, false", required(o.ID), required(other.ID))
	}
	must(t, st.SetOrgMFARequired(ctx, o.ID, false, at))
	if required(o.ID) {
		t.Fatal("MFA still required after turning it off")
	}
	_, err := st.OrgMFARequired(ctx, newID("org"))
	wantErr(t, err, errs.NotFound, "not_found")
	wantErr(t, st.SetOrgMFARequired(ctx, newID("org"), true, at), errs.NotFound, "not_found")
}
