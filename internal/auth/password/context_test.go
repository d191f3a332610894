package password

import (
	"slices"
	"strings"
	"testing"
)

// TestASVS_6_1_2_ContextWordList: the documented list of context-specific
// words is what Words and ProductWords give: the user's name, the email's
// local part and domain (without the top-level domain), the
// organizations' names, whole and word by word, and Bursar's own words.
func TestASVS_6_1_2_ContextWordList(t *testing.T) {
	got := Words("Ada Lovelace", "ada.l@analytical-engines.example", "Acme Corp", "Zürich Süd")
	for _, want := range []string{
		"Ada Lovelace", "Ada", "Lovelace", // the name, whole and word by word
		"ada.l", "ada", // the email's local part
		"ada.l@analytical-engines.example",            // the whole email
		"analytical-engines", "analytical", "engines", // its domain
		"Acme Corp", "Acme", "Corp", "Zürich Süd", "Zürich", "Süd", // the organizations
	} {
		if !slices.Contains(got, want) {
			t.Errorf("Words(...) = %q, missing %q", got, want)
		}
	}
	if slices.Contains(got, "example") {
		t.Errorf("Words(...) = %q: the top-level domain is no word of the user's", got)
	}
	for _, want := range []string{"bursar", "invoice", "invoicing", "billing"} {
		if !slices.Contains(ProductWords, want) {
			t.Errorf("ProductWords = %q, missing %q", ProductWords, want)
		}
	}
}

// TestASVS_6_2_11_ContextWordsRefused: a password built on a context word
// (what is left without it is under 12 characters) is refused with a field
// error naming the word, in any case and form; one that only contains such
// a word among enough other characters is accepted.
func TestASVS_6_2_11_ContextWordsRefused(t *testing.T) {
	words := Words("Ada Lovelace", "ada.l@analytical-engines.example", "Acme Corp", "Zürich Süd")
	refused := []struct{ pw, word string }{
		{"MyBursarPass!", "bursar"},                   // product
		{"invoicing4ever!!", "invoicing"},             // product
		{"Lovelace1815!!", "lovelace"},                // the user's name
		{"ada lovelace 1815", "ada lovelace"},         // the whole name
		{"analytical-engines1", "analytical-engines"}, // the email's domain
		{"ACMECORP#2024xx", "acme"},                   // the organization, in capitals
		{"acme corp 2024!!", "acme corp"},             // the organization's whole name
		{"Zu\u0308rich-2024-xyz", "zürich"},           // NFD input, NFC word
		{"ada.l@analytical-engines.example", "ada.l@analytical-engines.example"},
	}
	for _, c := range refused {
		reason := refusedField(t, Check(c.pw, words...))
		if !strings.Contains(reason, `"`+c.word+`"`) || !strings.Contains(reason, "at least 12 characters") {
			t.Errorf("Check(%q) reason = %q, want it to name %q and the 12 characters", c.pw, reason, c.word)
		}
	}
	for _, pw := range []string{
		"correct horse acme battery staple", // contains a word, with plenty besides
		"vq7#Lm2;xR9p",                      // no word at all
		"adx lovelacy 1815",                 // near misses are not the words
		"Bursar-2024-portal",                // the boundary: 12 characters are left without "bursar"
	} {
		if err := Check(pw, words...); err != nil {
			t.Errorf("Check(%q) = %v, want nil", pw, err)
		}
	}
	// Without the user's words, only Bursar's own are refused.
	if err := Check("Lovelace1815!!"); err != nil {
		t.Errorf("Check(%q) without context = %v, want nil", "Lovelace1815!!", err)
	}
	refusedField(t, Check("Bursar-2024-porta"))
}

// TestASVS_6_2_12_BreachedPasswordRejected: the embedded list is a breach
// corpus (Mark Burnett's ten million passwords, compiled from public dumps
// of breached sites; passwords.md): entries from deep in it, not only its
// top, are refused.
func TestASVS_6_2_12_BreachedPasswordRejected(t *testing.T) {
	for _, pw := range []string{"werotate864951", "feinstrumpfhose", "1997russia1997", "galatasaray190", "iloveyoumybaby"} {
		if reason := refusedField(t, Check(pw)); !strings.Contains(reason, "commonly used") {
			t.Errorf("Check(%q) reason = %q, want the common-password refusal", pw, reason)
		}
	}
}
