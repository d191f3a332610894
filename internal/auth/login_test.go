package auth_test

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bursar/internal/auth"
	"bursar/internal/auth/password"
	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/notify/mail"
	"bursar/internal/notify/mail/mailtest"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
	"bursar/internal/vault"
)

const goodPassword = "correct horse battery staple 42"

// newIdentity returns the identity service on a sealing SQLite store, with
// mail going to an in-process SMTP server, and a clock the test moves.
func newIdentity(t *testing.T) (*auth.Identity, *sqlstore.Store, *mailtest.Server, *time.Time) {
	t.Helper()
	kek, err := vault.EphemeralKEK()
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bursar.db"), sqlstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := mailtest.NewServer(t, mailtest.Options{})
	sender, err := mail.New("smtp://"+srv.Addr+"?from=billing@bursar.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	id := &auth.Identity{Store: st, Mail: sender, Now: func() time.Time { return now }, BaseURL: "https://bill.example"}
	return id, st, srv, &now
}

func newUser(t *testing.T, st *sqlstore.Store, email, phc string) *auth.User {
	t.Helper()
	u := &auth.User{ID: ident.New("usr", time.Now()), Email: email, Name: "Ada", CreatedAt: time.Now(), PasswordHash: phc}
	if err := st.InsertUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestFailedSignInMailsOwner: every tenth failed sign-in on an account
// mails its holder, at the address the store keeps sealed; failures on an
// email that names no account mail no one.
func TestFailedSignInMailsOwner(t *testing.T) {
	ctx := context.Background()
	id, st, srv, now := newIdentity(t)
	phc, err := password.Hash(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	u := newUser(t, st, "ada@acme.example", phc)

	attempt := func(email string) {
		t.Helper()
		// Past the growing delay of the throttle, within its decay.
		*now = now.Add(16 * time.Minute)
		_, _, err := id.Login(ctx, email, "wrong password, guessed", "203.0.113.7", "test")
		if errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("Login with a wrong password: err = %v, want Unauthorized", err)
		}
	}
	for range 9 {
		attempt("Ada@Acme.example")
	}
	id.Flush()
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d mails after 9 failed attempts, want none yet", n)
	}
	attempt("ada@acme.example")
	id.Flush()
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d mails after 10 failed attempts, want 1", len(msgs))
	}
	m := msgs[0]
	if !slices.Equal(m.To, []string{u.Email}) || m.From != "billing@bursar.example" {
		t.Fatalf("mail from %q to %v, want to %s", m.From, m.To, u.Email)
	}
	head, body, _ := bytes.Cut(m.Data, []byte("\n\n"))
	text, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(head, []byte("Subject: Failed sign-in attempts on your Bursar account")) ||
		!strings.Contains(string(text), "There have been 10 failed attempts to sign in to your Bursar account (ada@acme.example)") {
		t.Fatalf("mail:\n%s\n%s", head, text)
	}
	if strings.Contains(string(text), "wrong password") {
		t.Fatal("the mail repeats the password that was tried")
	}

	// An email of no account: failures count, but there is no one to
	// mail, and the answer is the same.
	for range 10 {
		attempt("nobody@acme.example")
	}
	id.Flush()
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d mails after failures on an unknown email, want still 1", n)
	}
}

// TestLoginRehashesOldParameters: a password hashed under older argon2id
// parameters still signs in, and the sign-in replaces the stored hash by
// one under the current parameters; a failed sign-in changes nothing.
func TestLoginRehashesOldParameters(t *testing.T) {
	ctx := context.Background()
	id, st, _, _ := newIdentity(t)
	older := password.Params{Memory: 12288, Iterations: 3, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	old, err := older.Hash(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !password.NeedsRehash(old) {
		t.Fatal("a hash under older parameters does not need a rehash: the test proves nothing")
	}
	u := newUser(t, st, "grace@acme.example", old)

	if _, _, err := id.Login(ctx, u.Email, "not the password at all", "203.0.113.8", "test"); errs.KindOf(err) != errs.Unauthorized {
		t.Fatalf("Login with a wrong password: err = %v", err)
	}
	if got, _ := st.GetUser(ctx, u.ID); got.PasswordHash != old {
		t.Fatalf("a failed sign-in changed the stored hash to %q", got.PasswordHash)
	}

	res, _, err := id.Login(ctx, u.Email, goodPassword, "203.0.113.8", "test")
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash == old || password.NeedsRehash(got.PasswordHash) {
		t.Fatalf("stored hash after sign-in = %q, want one under the current parameters", got.PasswordHash)
	}
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("stored hash = %q, want OWASP's m=19456,t=2,p=1", got.PasswordHash)
	}
	if ok, err := password.Verify(goodPassword, got.PasswordHash); !ok || err != nil {
		t.Fatalf("the new hash does not verify the password: %v, %v", ok, err)
	}
	if res.User.PasswordHash != got.PasswordHash {
		t.Fatal("the signed-in user carries the old hash")
	}
	// And the next sign-in works with it, without another rehash.
	if _, _, err := id.Login(ctx, u.Email, goodPassword, "203.0.113.8", "test"); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.GetUser(ctx, u.ID); again.PasswordHash != got.PasswordHash {
		t.Fatal("a sign-in with a current hash rehashed it again")
	}
}
