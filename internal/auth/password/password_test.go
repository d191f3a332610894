package password

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"bursar/internal/errs"
)

// cheap keeps the tests fast under -race where the cost parameters do not
// matter; the tests that are about Default use Default.
var cheap = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// uncommon is 12 characters and on no list: the base of the length tests.
const uncommon = "vq7#Lm2;xR9p"

// refusedField returns the reason Check gave for the password field, or
// fails the test if err is not an Invalid error about that field.
func refusedField(t *testing.T, err error) string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "password" {
		t.Fatalf("Check: got %v, want one Invalid field error on %q", err, "password")
	}
	return e.Fields[0].Reason
}

// TestASVS_6_2_1_MinimumLength: under 12 characters is refused, 12 is
// accepted, and a character is a code point (after NFC), not a byte.
func TestASVS_6_2_1_MinimumLength(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"11 ASCII", uncommon[:11], false},
		{"12 ASCII", uncommon, true},
		{"11 two-byte", strings.Repeat("ü", 11), false},
		{"12 two-byte", strings.Repeat("ü", 12), true},
		// 22 code points as typed, 11 after NFC: still too short.
		{"11 decomposed", strings.Repeat("u\u0308", 11), false},
		{"12 four-byte emoji", strings.Repeat("🔒", 12), true},
		{"11 four-byte emoji", strings.Repeat("🔒", 11), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.pw)
			if tc.ok && err != nil {
				t.Fatalf("Check(%q) = %v, want nil", tc.pw, err)
			}
			if !tc.ok {
				if got, want := refusedField(t, err), "must be at least 12 characters long"; got != want {
					t.Fatalf("reason = %q, want %q", got, want)
				}
			}
		})
	}
}

// TestASVS_6_2_9_LongPasswordsPermitted: 64 and 128 characters are
// accepted, 129 refused (not truncated), multi-byte characters counting one.
func TestASVS_6_2_9_LongPasswordsPermitted(t *testing.T) {
	long := func(n int, unit string) string { return strings.Repeat(unit, n) }
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"64", long(64, "x"), true},
		{"128", long(128, "x"), true},
		{"129", long(129, "x"), false},
		{"128 emoji", long(128, "🔒"), true},
		{"129 emoji", long(129, "🔒"), false},
		{"128 three-byte", long(128, "€"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.pw)
			if tc.ok && err != nil {
				t.Fatalf("Check(%d code points) = %v, want nil", utf8.RuneCountInString(tc.pw), err)
			}
			if !tc.ok {
				if got, want := refusedField(t, err), "must be at most 128 characters long"; got != want {
					t.Fatalf("reason = %q, want %q", got, want)
				}
			}
		})
	}
}

// TestASVS_6_2_5_AnyCompositionAccepted: no rules on character classes;
// spaces, Unicode letters, emoji and symbols are all allowed.
func TestASVS_6_2_5_AnyCompositionAccepted(t *testing.T) {
	for _, pw := range []string{
		"only lower case letters here",
		"   leading and trailing spaces   ",
		"Grüße aus Köln, 2026",
		"пароль для счетов",
		"請求書のパスワードですね",
		"🦊🐢🌵🎻🧭🪁🧊🍄🦉🚲🪐🧩",
		"tab\tand\u00a0no-break space",
	} {
		if err := Check(pw); err != nil {
			t.Errorf("Check(%q) = %v, want nil", pw, err)
		}
	}
}

// TestASVS_6_2_4_CommonPasswordRejected: a password from the list is
// refused, in any case, while a near miss is accepted.
func TestASVS_6_2_4_CommonPasswordRejected(t *testing.T) {
	// Each of these is in SecLists' top million in lower case.
	for _, pw := range []string{"password1234", "PASSWORD1234", "qwertyuiop123", "1234567890qwerty"} {
		reason := refusedField(t, Check(pw))
		if want := "is one of the most commonly used passwords; choose another"; reason != want {
			t.Errorf("Check(%q) reason = %q, want %q", pw, reason, want)
		}
	}
	if err := Check(uncommon); err != nil {
		t.Errorf("Check(%q) = %v, want nil", uncommon, err)
	}
}

// TestASVS_6_2_8_NoTruncation: two passwords that differ only at the 100th
// character do not verify against each other.
func TestASVS_6_2_8_NoTruncation(t *testing.T) {
	a := strings.Repeat("a", 99) + "b" + strings.Repeat("c", 20)
	b := strings.Repeat("a", 99) + "X" + strings.Repeat("c", 20)
	phc, err := cheap.Hash(a)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify(a, phc); !ok || err != nil {
		t.Fatalf("Verify(a) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := Verify(b, phc); ok || err != nil {
		t.Fatalf("Verify(b) = %v, %v; want false, nil", ok, err)
	}
}

// TestASVS_6_2_8_NoCaseFolding: a password that differs only in case does
// not verify, and neither does one with a trailing space.
func TestASVS_6_2_8_NoCaseFolding(t *testing.T) {
	phc, err := cheap.Hash("Correct Horse Battery Stäple")
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"correct horse battery stäple", "CORRECT HORSE BATTERY STÄPLE", "Correct Horse Battery Stäple "} {
		if ok, err := Verify(pw, phc); ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v; want false, nil", pw, ok, err)
		}
	}
}

// TestNormalizedFormsVerify: the same text typed composed or decomposed is
// one password (NFC), the documented exception to "exactly as received".
func TestNormalizedFormsVerify(t *testing.T) {
	phc, err := cheap.Hash("Stra\u00dfe und Caf\u00e9 2026")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify("Stra\u00dfe und Cafe\u0301 2026", phc); !ok || err != nil {
		t.Fatalf("Verify(decomposed) = %v, %v; want true, nil", ok, err)
	}
}

// TestASVS_11_4_2_Argon2idPHC: Hash writes argon2id with Default's
// parameters in PHC form, salts every hash, and the string verifies.
func TestASVS_11_4_2_Argon2idPHC(t *testing.T) {
	pw := "a long passphrase with spaces"
	phc, err := Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(phc, "$")
	if len(f) != 6 || f[1] != "argon2id" || f[2] != "v=19" || f[3] != "m=19456,t=2,p=1" {
		t.Fatalf("Hash = %q, want $argon2id$v=19$m=19456,t=2,p=1$salt$hash", phc)
	}
	if got, want := len(f[4]), 22; got != want { // 16 bytes, unpadded base64
		t.Errorf("salt %q has %d characters, want %d", f[4], got, want)
	}
	if got, want := len(f[5]), 43; got != want { // 32 bytes
		t.Errorf("hash %q has %d characters, want %d", f[5], got, want)
	}
	if ok, err := Verify(pw, phc); !ok || err != nil {
		t.Fatalf("Verify = %v, %v; want true, nil", ok, err)
	}
	again, err := Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if again == phc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if NeedsRehash(phc) {
		t.Fatal("NeedsRehash(fresh hash) = true")
	}
}

// TestVerifyKnownVector checks a hash from the reference implementation's
// own tests (phc-winner-argon2, src/test.c: password "password", salt
// "somesalt", m=64 MiB, t=2, p=1), so that hashes interoperate with other
// tools in both directions.
func TestVerifyKnownVector(t *testing.T) {
	const phc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	if ok, err := Verify("password", phc); !ok || err != nil {
		t.Fatalf("Verify(reference vector) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := Verify("passwore", phc); ok || err != nil {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
}

// TestNeedsRehashAfterParameterChange: a hash made under older parameters
// still verifies, and NeedsRehash asks for a new one; each parameter counts.
func TestNeedsRehashAfterParameterChange(t *testing.T) {
	old, err := cheap.Hash(uncommon)
	if err != nil {
		t.Fatal(err)
	}
	if cheap.NeedsRehash(old) {
		t.Fatal("NeedsRehash under the same parameters = true")
	}
	if !NeedsRehash(old) {
		t.Fatal("NeedsRehash under Default = false for a hash with other parameters")
	}
	for name, p := range map[string]Params{
		"memory":      {Memory: 128, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		"iterations":  {Memory: 64, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		"parallelism": {Memory: 64, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32},
		"salt":        {Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 32, KeyLength: 32},
		"key":         {Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 64},
	} {
		if !p.NeedsRehash(old) {
			t.Errorf("NeedsRehash after a change of %s = false", name)
		}
	}
	if ok, err := Verify(uncommon, old); !ok || err != nil {
		t.Fatalf("old hash no longer verifies: %v, %v", ok, err)
	}
	if !NeedsRehash("not a hash") {
		t.Fatal("NeedsRehash(garbage) = false")
	}
}

// TestVerifyRejectsTamperedHash: changing any part of a stored hash makes
// the right password fail, or the string unreadable; never a panic, never
// a success.
func TestVerifyRejectsTamperedHash(t *testing.T) {
	pw := uncommon
	phc, err := cheap.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(phc, "$")
	flip := func(s string) string { // change the first character of s
		c := "A"
		if s[0] == 'A' {
			c = "B"
		}
		return c + s[1:]
	}
	for name, bad := range map[string]string{
		"salt":         strings.Join([]string{"", f[1], f[2], f[3], flip(f[4]), f[5]}, "$"),
		"hash":         strings.Join([]string{"", f[1], f[2], f[3], f[4], flip(f[5])}, "$"),
		"memory":       strings.Replace(phc, "m=64,", "m=65,", 1),
		"iterations":   strings.Replace(phc, "t=1,", "t=2,", 1),
		"truncated":    phc[:len(phc)-4],
		"argon2i":      strings.Replace(phc, "argon2id", "argon2i", 1),
		"version 16":   strings.Replace(phc, "v=19", "v=16", 1),
		"padding":      phc + "=",
		"leading zero": strings.Replace(phc, "m=64,", "m=064,", 1),
		"huge memory":  strings.Replace(phc, "m=64,", "m=4194304,", 1),
		"zero time":    strings.Replace(phc, "t=1,", "t=0,", 1),
		"empty":        "",
	} {
		ok, err := Verify(pw, bad)
		if ok {
			t.Errorf("%s: Verify(%q) = true", name, bad)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Verify error %v does not wrap ErrMalformed", name, err)
		}
	}
}

func TestParamsOutOfRangeRefused(t *testing.T) {
	for _, p := range []Params{
		{Memory: 7, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 0, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 0, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 4, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 8},
	} {
		if _, err := p.Hash(uncommon); err == nil {
			t.Errorf("Params%+v.Hash succeeded", p)
		}
	}
}

func TestPolicyRefusesInvalidUTF8AndBadBounds(t *testing.T) {
	if got, want := refusedField(t, Check("valid start \xff\xfe then more")), "must be valid UTF-8 text"; got != want {
		t.Errorf("reason = %q, want %q", got, want)
	}
	for _, p := range []Policy{{MinLength: 6, MaxLength: 128}, {MinLength: 12, MaxLength: 32}, {MinLength: 100, MaxLength: 90}} {
		err := p.Check(uncommon)
		if err == nil || errs.KindOf(err) != errs.Internal {
			t.Errorf("Policy%+v.Check = %v, want an internal error", p, err)
		}
	}
}

// FuzzVerify feeds arbitrary stored strings to Verify: it must never panic,
// must refuse what decode refuses, and anything it accepts must be the one
// canonical spelling of its parameters, salt and key.
func FuzzVerify(f *testing.F) {
	good, err := cheap.Hash(uncommon)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good, good[:20], "$argon2id$v=19$m=64,t=1,p=1$$", "$argon2id$v=19$m=,t=,p=$a$b",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
		"$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
		"$$$$$", "$argon2id$v=19$m=64,t=1,p=1,x=1$c29tZXNhbHQ$c29tZXNhbHQ",
	} {
		f.Add(s, uncommon)
	}
	f.Fuzz(func(t *testing.T, phc, pw string) {
		p, salt, key, derr := decode(phc)
		if derr == nil && uint64(p.Memory)*uint64(p.Iterations) > 1<<16 {
			// Valid but costly: parsing is what is fuzzed here, not the
			// speed of argon2 at 256 MiB.
			t.Skip()
		}
		ok, err := Verify(pw, phc)
		if (err == nil) != (derr == nil) {
			t.Fatalf("Verify error %v, decode error %v", err, derr)
		}
		if err != nil {
			if ok || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(%q) = %v, %v", phc, ok, err)
			}
			return
		}
		if again := encode(p, salt, key); again != phc {
			t.Fatalf("accepted %q, whose canonical form is %q", phc, again)
		}
	})
}

func ExampleVerify() {
	phc, _ := Hash("a long passphrase with spaces")
	ok, _ := Verify("a long passphrase with spaces", phc)
	fmt.Println(ok, NeedsRehash(phc))
	// Output: true false
}
