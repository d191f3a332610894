package password

import (
	"fmt"
	"unicode/utf8"

	"bursar/internal/errs"
)

// Policy says which passwords a user may choose. It has no composition
// rules (ASVS 5.0 6.2.5, NIST SP 800-63B): length and the common-password
// list are what make a password hard to guess, and rules about digits or
// symbols only make users write "Password1!".
type Policy struct {
	// MinLength and MaxLength bound the length in Unicode code points
	// after NFC normalization, so "é" counts as one character however it
	// was typed and an emoji counts as one (or as the several code points
	// a composed emoji is made of).
	MinLength int
	MaxLength int
}

// DefaultPolicy is Bursar's policy: 12 to 128 characters. ASVS 5.0 6.2.1
// asks for at least 8 and recommends 15; 12 is the choice. The
// maximum only exists so that a request cannot make the server hash a
// megabyte; 128 is twice ASVS 5.0 6.2.9's 64, so passphrases fit, and a
// longer password is refused, never truncated.
var DefaultPolicy = Policy{MinLength: 12, MaxLength: 128}

// The bounds any Policy must keep: ASVS 5.0 6.2.1's minimum of 8 (which is
// also the shortest entry kept in the common-password list, so the list
// check stays complete) and 6.2.9's 64.
const (
	floorMinLength = 8
	floorMaxLength = 64
)

// Field is the name under which Check reports a refused password.
const Field = "password"

// Check returns nil if pw may be set as a password under DefaultPolicy.
// context is the words of the user and organization (Words); ProductWords
// are always added.
func Check(pw string, context ...string) error { return DefaultPolicy.Check(pw, context...) }

// Check returns nil if pw may be set as a password, or an errs.Invalid
// error whose field is "password" and whose reason says what to change.
// Call it when a password is chosen (sign-up, change, reset), never at
// login: a password that was allowed when it was set stays valid until the
// user changes it (ASVS 5.0 6.2.10). A password built on a word of
// context or of ProductWords (ASVS 5.0 6.2.11: what is left without the
// word is shorter than MinLength) is refused too. Any other error (a Policy outside
// the bounds below, a damaged embedded list) has no errs kind, so the API
// reports it as internal and the password is not accepted.
func (p Policy) Check(pw string, context ...string) error {
	if p.MinLength < floorMinLength || p.MaxLength < floorMaxLength || p.MinLength > p.MaxLength {
		// A fault of the caller's configuration, so no Kind: errs reports it
		// as Internal.
		return fmt.Errorf("password: policy %d..%d outside [%d, >=%d]", p.MinLength, p.MaxLength, floorMinLength, floorMaxLength)
	}
	var f errs.Fields
	if !utf8.ValidString(pw) {
		// Lengths in code points mean nothing for broken UTF-8, and no
		// keyboard produces it: it is a client bug or an attack.
		f.Add(Field, "must be valid UTF-8 text")
		return f.Err()
	}
	n := utf8.RuneCountInString(Normalize(pw))
	switch {
	case n < p.MinLength:
		f.Add(Field, "must be at least %d characters long", p.MinLength)
	case n > p.MaxLength:
		f.Add(Field, "must be at most %d characters long", p.MaxLength)
	default:
		common, err := IsCommon(pw)
		if err != nil {
			return err
		}
		if common {
			f.Add(Field, "is one of the most commonly used passwords; choose another")
		} else if w := contextWord(pw, context, p.MinLength); w != "" {
			f.Add(Field, "is built on %q, a word of your name, your email, your organization or Bursar; without it, it must still be at least %d characters long", w, p.MinLength)
		}
	}
	return f.Err()
}
