package password

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ProductWords are the words of Bursar itself that a password must not be
// built on (ASVS 5.0 6.1.2, 6.2.11): an attacker who knows the target is a
// Bursar installation tries "Bursar2024!" and "invoicing-portal" first.
// Every Check uses them; the words of the user and the organization come
// from Words.
var ProductWords = []string{"bursar", "invoice", "invoicing", "billing"}

// minWordLength is the shortest context word looked for, in code points.
// Shorter pieces ("jo", "ab") are in every guessing dictionary anyway,
// and looking for them would refuse good passwords by accident.
const minWordLength = 3

// Words returns the context-specific words of one user: the name, the
// email's local part and domain, and the names of the organizations, each
// whole and split into its words. The last label of the domain (a
// top-level domain such as "com") is not a word of the user's. The result
// goes to Check.
func Words(name, email string, orgNames ...string) []string {
	var out []string
	add := func(s string) {
		out = append(out, s)
		out = append(out, strings.FieldsFunc(s, notWordRune)...)
	}
	add(name)
	local, domain, ok := strings.Cut(email, "@")
	add(local)
	if ok {
		out = append(out, email)
		if i := strings.LastIndexByte(domain, '.'); i > 0 {
			domain = domain[:i]
		}
		add(domain)
	}
	for _, o := range orgNames {
		add(o)
	}
	return out
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// contextWord reports the context word pw is built on: the longest word
// of ProductWords and words that pw contains (ignoring case), when what is
// left of pw once every such word is taken out is shorter than minLength.
// A word adds nothing an attacker who knows the user would not try first,
// so the rest of the password must be long enough on its own;
// "correct horse acme staple" keeps more than enough, "Acme-Corp-2024!"
// does not. It returns "" when pw passes.
func contextWord(pw string, words []string, minLength int) string {
	seen := map[string]bool{}
	var list []string
	for _, w := range append(append([]string(nil), ProductWords...), words...) {
		w = strings.ToLower(strings.TrimSpace(Normalize(w)))
		if utf8.RuneCountInString(w) >= minWordLength && !seen[w] {
			seen[w] = true
			list = append(list, w)
		}
	}
	// Longest first, so that "acme corp" goes before "acme" and the
	// answer names the whole of what was found.
	sort.SliceStable(list, func(i, j int) bool { return utf8.RuneCountInString(list[i]) > utf8.RuneCountInString(list[j]) })
	rest := strings.ToLower(Normalize(pw))
	found := ""
	for _, w := range list {
		if strings.Contains(rest, w) {
			if found == "" {
				found = w
			}
			rest = strings.ReplaceAll(rest, w, "")
		}
	}
	if found == "" || utf8.RuneCountInString(rest) >= minLength {
		return ""
	}
	return found
}
