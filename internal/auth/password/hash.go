// Package password hashes, verifies and vets user passwords.
//
// Hashes are argon2id in the PHC string form that the reference
// implementation writes:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. The parameters travel
// with each hash, so Verify keeps working after Default changes, and
// NeedsRehash tells a login handler when to store a fresh hash made with
// the current parameters.
//
// Every function takes the password exactly as the user typed it except for
// Unicode NFC normalization (see Normalize): it is never truncated, trimmed
// or case-folded.
//
// The common-password list in data/ is derived from SecLists (CC BY-SA 3.0,
// see data/ATTRIBUTION.md) and rebuilt by regenerate.sh.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are the argon2id cost parameters and output sizes.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32 // bytes
	KeyLength   uint32 // bytes
}

// Default is what Hash uses. It is OWASP's Password Storage Cheat Sheet
// configuration "m=19456 (19 MiB), t=2, p=1" for argon2id, which the sheet
// names as the minimum. We take that minimum rather than one of its
// equal-strength trade-offs (46 MiB/t=1, 12 MiB/t=3, ...) or RFC 9106's
// 64 MiB/t=3/p=4 profile because Bursar is self-hosted on small machines:
// every concurrent login holds Memory KiB, so 19 MiB keeps twenty logins
// under 400 MiB, and p=1 leaves the other cores to the requests that are
// waiting. Login throttling, not hash cost alone, bounds online guessing;
// the hash cost is there for a stolen database. The salt is 16 bytes and
// the key 32, as RFC 9106 section 4 recommends. Raising any of these later
// is safe: old hashes still verify and are upgraded at the next login.
var Default = Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Bounds on parameters read back from a stored hash. A hash string comes
// from the database, and a tampered one with m=4 GiB would turn every login
// attempt for that account into a memory exhaustion; these bounds are far
// above Default and below what would hurt a small server.
const (
	maxMemory      = 256 * 1024 // KiB
	maxIterations  = 16
	maxParallelism = 16
	minSaltLength  = 8
	maxSaltLength  = 64
	minKeyLength   = 16
	maxKeyLength   = 64
)

// ErrMalformed is returned by Verify for a stored hash that is not an
// argon2id PHC string this package can check. It means the stored value is
// damaged or foreign, never that the password was wrong.
var ErrMalformed = errors.New("password: malformed argon2id hash")

// Normalize returns pw in Unicode Normalization Form C. Hash, Verify and
// the Policy all see the password through it, so that "é" typed as one code
// point on one keyboard and as "e" plus a combining accent on another is the
// same password. NFC is RFC 8265's choice for passwords (the OpaqueString
// profile): unlike NFKC, which NIST SP 800-63B also allows, it keeps
// compatibility characters such as full-width letters distinct, so no
// password loses characters the user chose.
func Normalize(pw string) string { return norm.NFC.String(pw) }

// Hash returns the PHC string of pw under Default.
func Hash(pw string) (string, error) { return Default.Hash(pw) }

// NeedsRehash reports whether phc was made with parameters other than
// Default (or cannot be read), so that the caller, having just verified the
// password, should store Hash(pw) in its place.
func NeedsRehash(phc string) bool { return Default.NeedsRehash(phc) }

// Hash returns the PHC string of pw under p, with a fresh random salt.
func (p Params) Hash(pw string) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(Normalize(pw)), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return encode(p, salt, key), nil
}

// NeedsRehash reports whether phc differs from what p would produce.
func (p Params) NeedsRehash(phc string) bool {
	got, salt, key, err := decode(phc)
	if err != nil {
		return true
	}
	return got.Memory != p.Memory || got.Iterations != p.Iterations || got.Parallelism != p.Parallelism ||
		len(salt) != int(p.SaltLength) || len(key) != int(p.KeyLength)
}

// Verify reports whether pw matches the PHC string phc. The comparison of
// the derived key takes the same time wherever the keys differ. A phc that
// cannot be read gives false and an error wrapping ErrMalformed.
func Verify(pw, phc string) (bool, error) {
	p, salt, key, err := decode(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(Normalize(pw)), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func (p Params) check() error {
	switch {
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemory:
		return fmt.Errorf("password: memory %d KiB out of range [%d, %d]", p.Memory, 8*uint32(p.Parallelism), maxMemory)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("password: iterations %d out of range [1, %d]", p.Iterations, maxIterations)
	case p.Parallelism < 1 || p.Parallelism > maxParallelism:
		return fmt.Errorf("password: parallelism %d out of range [1, %d]", p.Parallelism, maxParallelism)
	case p.SaltLength < minSaltLength || p.SaltLength > maxSaltLength:
		return fmt.Errorf("password: salt length %d out of range [%d, %d]", p.SaltLength, minSaltLength, maxSaltLength)
	case p.KeyLength < minKeyLength || p.KeyLength > maxKeyLength:
		return fmt.Errorf("password: key length %d out of range [%d, %d]", p.KeyLength, minKeyLength, maxKeyLength)
	}
	return nil
}

// b64 is the reference implementation's encoding: standard alphabet, no
// padding. Strict refuses stray trailing bits, so that one hash has exactly
// one spelling.
var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses an argon2id PHC string strictly: the fields in the
// reference implementation's order, decimal numbers without signs or
// leading zeros, and parameters within the bounds above.
func decode(phc string) (Params, []byte, []byte, error) {
	var p Params
	f := strings.Split(phc, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrMalformed
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, ErrMalformed
	}
	m, ok1 := param(kv[0], "m=")
	t, ok2 := param(kv[1], "t=")
	par, ok3 := param(kv[2], "p=")
	if !ok1 || !ok2 || !ok3 || par > maxParallelism {
		return p, nil, nil, ErrMalformed
	}
	// encoding/base64 skips CR and LF even when strict; a hash with a line
	// break in it would be a second spelling of the same hash.
	if strings.ContainsAny(f[4]+f[5], "\r\n") {
		return p, nil, nil, ErrMalformed
	}
	salt, err1 := b64.DecodeString(f[4])
	key, err2 := b64.DecodeString(f[5])
	if err1 != nil || err2 != nil || len(salt) > maxSaltLength || len(key) > maxKeyLength {
		return p, nil, nil, ErrMalformed
	}
	// #nosec G115 -- par <= maxParallelism, and both lengths <= 64, checked above.
	p = Params{Memory: m, Iterations: t, Parallelism: uint8(par), SaltLength: uint32(len(salt)), KeyLength: uint32(len(key))}
	if err := p.check(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return p, salt, key, nil
}

// param reads "name=decimal" with a canonical decimal of at most 9 digits,
// which keeps the value inside uint32 before the range checks.
func param(s, name string) (uint32, bool) {
	v, ok := strings.CutPrefix(s, name)
	if !ok || v == "" || len(v) > 9 || (len(v) > 1 && v[0] == '0') {
		return 0, false
	}
	n := uint32(0)
	for _, c := range []byte(v) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return n, true
}
