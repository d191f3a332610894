package mfa_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/webauthn"

	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
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

// authenticator is a software WebAuthn authenticator: a P-256 key, a
// credential id, a signature counter, and the client that wraps its
// output in clientDataJSON for an origin, built by hand per WebAuthn
// Level 3 (§6.1 authenticator data, §6.5.4 "none" attestation, §6.3.3
// assertion signature).
type authenticator struct {
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
	counter    uint32
	origin     string
	rpID       string
	uv         bool
}

func newAuthenticator(t *testing.T) *authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	return &authenticator{key: key, credID: id, origin: origin, rpID: rpID, uv: true}
}

var b64 = base64.RawURLEncoding

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

func (a *authenticator) flags() byte {
	if a.uv {
		return flagUP | flagUV
	}
	return flagUP
}

func (a *authenticator) clientData(t *testing.T, typ string, challenge []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": b64.EncodeToString(challenge), "origin": a.origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// create answers navigator.credentials.create(): a new credential with
// "none" attestation, bound to the user handle.
func (a *authenticator) create(t *testing.T, c *protocol.CredentialCreation, userHandle []byte) []byte {
	t.Helper()
	a.userHandle = userHandle
	pub, err := a.key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 || X || Y
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	rpHash := sha256.Sum256([]byte(a.rpID))
	authData := append([]byte{}, rpHash[:]...)
	authData = append(authData, a.flags()|flagAT)
	authData = binary.BigEndian.AppendUint32(authData, a.counter)
	authData = append(authData, make([]byte, 16)...) // AAGUID: none
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(a.credID)))
	authData = append(authData, a.credID...)
	authData = append(authData, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData(t, "webauthn.create", c.Response.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// get answers navigator.credentials.get(): it signs authenticatorData ||
// SHA-256(clientDataJSON) with the counter incremented by step (0 for an
// authenticator without a counter).
func (a *authenticator) get(t *testing.T, c *protocol.CredentialAssertion, step uint32) []byte {
	t.Helper()
	a.counter += step
	rpHash := sha256.Sum256([]byte(a.rpID))
	authData := append([]byte{}, rpHash[:]...)
	authData = append(authData, a.flags())
	authData = binary.BigEndian.AppendUint32(authData, a.counter)
	cd := a.clientData(t, "webauthn.get", c.Response.Challenge)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, authData...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.userHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// register adds a passkey for the account with a new software
// authenticator.
func (e *env) register(t *testing.T, a mfa.Account, name string) (*authenticator, *mfa.Passkey, []string) {
	t.Helper()
	creation, id, err := e.svc.BeginPasskeyRegistration(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	dev := newAuthenticator(t)
	p, codes, err := e.svc.FinishPasskeyRegistration(ctx, a, id, name, dev.create(t, creation, []byte(a.UserID)))
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return dev, p, codes
}
