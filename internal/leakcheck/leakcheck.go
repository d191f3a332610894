// Package leakcheck finds data that must never reach a log or a database
// file in clear: card-number-like digit runs that pass the Luhn check, and
// API key secrets. CI runs it over the test logs and over the raw bytes of
// a database the real server wrote (issue 5, stage 9).
//
// Bursar never handles card data (payments go through the gateway's hosted
// checkout), so any Luhn-valid run of 13 to 19 digits in its output is a
// defect until shown otherwise; and an API key secret is only ever stored
// as a hash, so its plain text anywhere is a leak.
package leakcheck

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
)

// Kind says what a Finding is.
type Kind string

// The kinds of finding.
const (
	// Card is a run of 13 to 19 digits, optionally grouped by single
	// spaces or dashes, that passes the Luhn check.
	Card Kind = "card-number"
	// APIKey is text shaped like a Bursar API key secret.
	APIKey Kind = "api-key-secret"
	// Secret is one of the secrets the caller named.
	Secret Kind = "known-secret"
)

// Finding is one hit. Sample is redacted: a report must not repeat the
// leak it reports.
type Finding struct {
	Kind   Kind
	Offset int // byte offset in the scanned data
	Line   int // 1-based line number (lines end at '\n')
	Sample string
}

// String formats f for a CI log: where, what, and the redacted sample.
func (f Finding) String() string {
	return fmt.Sprintf("line %d (byte %d): %s %s", f.Line, f.Offset, f.Kind, f.Sample)
}

// apiKeyPattern matches a full API key secret: the "bsk_" prefix and 32
// base32 characters (see auth.Service). The stored display prefix is
// "bsk_" and 6 characters, too short to match.
var apiKeyPattern = regexp.MustCompile(`bsk_[a-z2-7]{32}`)

// Scan returns every finding in data, in order of offset. secrets are
// exact strings that must not appear (for example the API key that CI
// created); empty ones are ignored.
func Scan(data []byte, secrets []string) []Finding {
	var out []Finding
	add := func(k Kind, off, n int) {
		out = append(out, Finding{Kind: k, Offset: off, Line: 1 + bytes.Count(data[:off], []byte{'\n'}), Sample: redact(data[off : off+n])})
	}
	for _, r := range cardRuns(data) {
		add(Card, r[0], r[1]-r[0])
	}
	for _, m := range apiKeyPattern.FindAllIndex(data, -1) {
		add(APIKey, m[0], m[1]-m[0])
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for off := 0; ; {
			i := bytes.Index(data[off:], []byte(s))
			if i < 0 {
				break
			}
			add(Secret, off+i, len(s))
			off += i + len(s)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return a.Offset - b.Offset })
	return out
}

// cardRuns returns the [start, end) byte ranges of card-number-like runs.
// A run is a maximal sequence of digit groups joined by single spaces or
// dashes. Letters next to a run do not disqualify it: in a raw SQLite file
// adjacent text columns are stored with no separator. Within a run, every
// contiguous sequence of groups with 13 to 19 digits in all is a candidate,
// so that a card number followed by an unrelated number ("4111 1111 1111
// 1111 12") is still found; the first Luhn-valid candidate reports the run.
func cardRuns(data []byte) [][2]int {
	var out [][2]int
	i := 0
	for i < len(data) {
		if !isDigit(data[i]) {
			i++
			continue
		}
		// groups[k] is the [start, end) of the k-th digit group.
		var groups [][2]int
		j := i
		for {
			s := j
			for j < len(data) && isDigit(data[j]) {
				j++
			}
			groups = append(groups, [2]int{s, j})
			if j+1 < len(data) && (data[j] == ' ' || data[j] == '-') && isDigit(data[j+1]) {
				j++
				continue
			}
			break
		}
		if len(groups) == 1 && inHexToken(data, i, j) {
			i = j
			continue
		}
		if r, ok := luhnCandidate(data, groups); ok {
			out = append(out, r)
		}
		i = j
	}
	return out
}

// minHexToken is the length from which a hexadecimal token is taken for a
// digest or key (128 bits and more) rather than for text: digests are
// stored in hex, and 13 digits in a row happen in them.
const minHexToken = 32

// inHexToken reports whether the digits data[i:j] are part of a longer
// hexadecimal token of at least minHexToken characters, such as a SHA-256
// in hex. A card number glued to a short word ("Trade4111...") is still a
// candidate, since the word's letters end the token early.
func inHexToken(data []byte, i, j int) bool {
	s, e := i, j
	for s > 0 && isHex(data[s-1]) {
		s--
	}
	for e < len(data) && isHex(data[e]) {
		e++
	}
	return e-s > j-i && e-s >= minHexToken
}

func luhnCandidate(data []byte, groups [][2]int) ([2]int, bool) {
	for a := range groups {
		n := 0
		for b := a; b < len(groups); b++ {
			n += groups[b][1] - groups[b][0]
			if n > 19 {
				break
			}
			if n >= 13 && luhn(data, groups[a:b+1]) {
				return [2]int{groups[a][0], groups[b][1]}, true
			}
		}
	}
	return [2]int{}, false
}

// luhn reports whether the digits of groups pass the Luhn check.
func luhn(data []byte, groups [][2]int) bool {
	var digits []byte
	for _, g := range groups {
		digits = append(digits, data[g[0]:g[1]]...)
	}
	return Luhn(string(digits))
}

// Luhn reports whether the decimal digit string s passes the Luhn check
// (ISO/IEC 7812-1). It is false for an empty string or a non-digit.
func Luhn(s string) bool {
	if s == "" {
		return false
	}
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// redact keeps the first 4 and last 2 characters of a hit so that a reader
// can find it without the report repeating it.
func redact(b []byte) string {
	if len(b) <= 8 {
		return fmt.Sprintf("%q", bytes.Repeat([]byte{'*'}, len(b)))
	}
	return fmt.Sprintf("%q", string(b[:4])+string(bytes.Repeat([]byte{'*'}, len(b)-6))+string(b[len(b)-2:]))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
