package api_test

import (
	"strings"
	"testing"
)

// TestASVS_6_2_11_ContextWordsRefusedOnEveryPath: a password built on a
// context-specific word (the organization's name, the user's name or
// email, Bursar's own name) is refused with a field error on the password
// when it is chosen: accepting an invitation, a change, a reset. The same
// passwords with enough besides the word are accepted.
func TestASVS_6_2_11_ContextWordsRefusedOnEveryPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Quillfeather")
	e.withPassword(a.org.Email, goodPassword)
	owner := e.login(a.org.Email, goodPassword)
	nobody := client{e: e}

	refused := func(what string, r resp, word string) {
		t.Helper()
		p := r.problem(t)
		if r.status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "password" && p.Errors[0].Field != "new_password" ||
			!strings.Contains(p.Errors[0].Reason, `"`+word+`"`) {
			t.Errorf("%s: %v, want 422 with a password field error naming %q", what, r, word)
		}
	}

	// Accepting an invitation: the organization being joined and the
	// invitee's own name and email.
	owner.must(201, "POST", "/v1/users", map[string]any{"email": "marguerite.yourcenar@hadrian.example", "role": "viewer"})
	token := e.token("marguerite.yourcenar@hadrian.example")
	for _, c := range []struct{ pw, word string }{
		{"Quillfeather#2026", "quillfeather"},
		{"Marguerite1903!", "marguerite"},
		{"hadrian-rome-117", "hadrian"},
		{"Bursar-login-1!", "bursar"},
	} {
		r := nobody.do("POST", "/v1/invitations/accept", map[string]any{"token": token, "name": "Marguerite Yourcenar", "password": c.pw})
		refused("accept an invitation with "+c.pw, r, c.word)
	}
	nobody.must(201, "POST", "/v1/invitations/accept", map[string]any{"token": token, "name": "Marguerite Yourcenar", "password": "Quillfeather and the long grey sea"})

	// A change: the organizations the user belongs to, and the user.
	r := owner.do("POST", "/v1/auth/password", map[string]any{"current_password": goodPassword, "new_password": "quillFEATHER99!"})
	refused("change to the organization's name", r, "quillfeather")
	r = owner.do("POST", "/v1/auth/password", map[string]any{"current_password": goodPassword, "new_password": "owner@quillfeather"})
	refused("change to the email", r, "quillfeather")

	// A reset.
	nobody.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.org.Email})
	reset := e.token(a.org.Email)
	r = nobody.do("POST", "/v1/auth/password-reset/confirm", map[string]any{"token": reset, "password": "Quillfeather-777"})
	refused("reset to the organization's name", r, "quillfeather")
	nobody.must(204, "POST", "/v1/auth/password-reset/confirm", map[string]any{"token": reset, "password": "a quillfeather of ink and salt"})
	e.login(a.org.Email, "a quillfeather of ink and salt")
}
