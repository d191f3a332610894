package mfa_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/auth/mfa/mfatest"
	"bursar/internal/ident"
	"bursar/internal/org"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
)

const (
	rpID   = "bursar.example"
	origin = "https://bursar.example"
)

var ctx = context.Background()

// env is a Service over a real SQLite store, with a clock the test moves
// and the events it recorded.
type env struct {
	st  *sqlstore.Store
	svc *mfa.Service
	now time.Time

	mu     sync.Mutex
	events []mfa.Event
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	wa, err := webauthn.New(&webauthn.Config{RPID: rpID, RPDisplayName: "Bursar", RPOrigins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	e.svc = &mfa.Service{Store: st, Sealer: newTestSealer(t), WebAuthn: wa, Issuer: "Bursar",
		Now: func() time.Time { return e.now },
		Record: func(_ context.Context, ev mfa.Event) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.events = append(e.events, ev)
			return nil
		}}
	return e
}

// lastEvent returns the last recorded event.
func (e *env) lastEvent(t *testing.T) mfa.Event {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.events) == 0 {
		t.Fatal("no event recorded")
	}
	return e.events[len(e.events)-1]
}

// eventsOf returns the recorded events with the action.
func (e *env) eventsOf(action string) []mfa.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []mfa.Event
	for _, ev := range e.events {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

func (e *env) newAccount(t *testing.T) mfa.Account {
	t.Helper()
	id := ident.New("usr", e.now)
	if err := e.st.InsertUser(ctx, &auth.User{ID: id, Email: id + "@example.com", Name: "Ada Lovelace", CreatedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	return mfa.Account{UserID: id, Email: id + "@example.com", Name: "Ada Lovelace"}
}

func (e *env) newOrg(t *testing.T) string {
	t.Helper()
	o := &org.Organization{ID: ident.New("org", e.now), Name: "Acme GmbH", Email: "billing@acme.example", DefaultCurrency: "EUR",
		TimeZone: "Europe/Berlin", Locale: "de-DE", InvoiceSeries: org.DefaultInvoiceSeries, CreditNoteSeries: org.DefaultCreditNoteSeries,
		CreatedAt: e.now, UpdatedAt: e.now}
	if err := e.st.InsertOrganization(ctx, o); err != nil {
		t.Fatal(err)
	}
	return o.ID
}

// testSealer stands in for the vault: AES-256-GCM under a random key,
// with every part of the binding in the associated data.
type testSealer struct{ aead cipher.AEAD }

func newTestSealer(t *testing.T) *testSealer {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &testSealer{aead}
}

func sealerAD(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p))) // #nosec G115 -- short test strings
		b = append(b, p...)
	}
	return b
}

func (s *testSealer) Seal(_ context.Context, owner, table, column, rowID string, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plaintext, sealerAD(owner, table, column, rowID)), nil
}

func (s *testSealer) Open(_ context.Context, owner, table, column, rowID string, ciphertext []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("short ciphertext")
	}
	return s.aead.Open(nil, ciphertext[:n], ciphertext[n:], sealerAD(owner, table, column, rowID))
}

// register adds a passkey for the account with a new software
// authenticator.
func (e *env) register(t *testing.T, a mfa.Account, name string) (*mfatest.Authenticator, *mfa.Passkey, []string) {
	t.Helper()
	creation, id, err := e.svc.BeginPasskeyRegistration(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	dev := mfatest.NewAuthenticator(t, rpID, origin)
	p, codes, err := e.svc.FinishPasskeyRegistration(ctx, a, id, name, dev.Create(t, creation, []byte(a.UserID)))
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return dev, p, codes
}
