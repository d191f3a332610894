package mfa

import (
	"testing"
	"time"

	"github.com/pquerna/otp"
)

// TestTOTPCodeRFC6238Vectors checks the code computation against the test
// vectors of RFC 6238, Appendix B (eight digits, the three hash functions,
// each with its own seed).
func TestTOTPCodeRFC6238Vectors(t *testing.T) {
	seeds := map[otp.Algorithm][]byte{
		otp.AlgorithmSHA1:   []byte("12345678901234567890"),
		otp.AlgorithmSHA256: []byte("12345678901234567890123456789012"),
		otp.AlgorithmSHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	vectors := []struct {
		unix                 int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, v := range vectors {
		step := TOTPStep(time.Unix(v.unix, 0))
		for alg, want := range map[otp.Algorithm]string{otp.AlgorithmSHA1: v.sha1, otp.AlgorithmSHA256: v.sha256, otp.AlgorithmSHA512: v.sha512} {
			got, err := totpCode(seeds[alg], step, alg, otp.DigitsEight)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("T=%d %s: got %s, want %s", v.unix, alg, got, want)
			}
		}
	}
}

// TestTOTPStep checks the step boundaries: 30-second steps from the epoch.
func TestTOTPStep(t *testing.T) {
	for _, c := range []struct {
		unix, want int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {60, 2}, {1111111109, 37037036}, {1111111111, 37037037}} {
		if got := TOTPStep(time.Unix(c.unix, 0)); got != c.want {
			t.Errorf("TOTPStep(%d) = %d, want %d", c.unix, got, c.want)
		}
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	for in, want := range map[string]string{
		"7kq2-abcd-efgh-jkmn-pqrs-tvwx":   "7KQ2ABCDEFGHJKMNPQRSTVWX",
		" 7KQ2 ABCD EFGH JKMN PQRS TVWX ": "7KQ2ABCDEFGHJKMNPQRSTVWX",
		"oIl0-0000-0000-0000-0000-0000":   "011000000000000000000000",
	} {
		if got := normalizeRecoveryCode(in); got != want {
			t.Errorf("normalizeRecoveryCode(%q) = %q, want %q", in, got, want)
		}
	}
}
