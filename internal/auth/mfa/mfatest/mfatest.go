// Package mfatest is a software WebAuthn authenticator for tests of
// passkeys: registration and sign-in answers built by hand, as a browser
// and an authenticator would give them, for any relying party.
package mfatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator is a software WebAuthn authenticator: a P-256 key, a
// credential id, a signature counter, and the client that wraps its
// output in clientDataJSON for an origin, built by hand per WebAuthn
// Level 3 (§6.1 authenticator data, §6.5.4 "none" attestation, §6.3.3
// assertion signature).
type Authenticator struct {
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
	// Counter is the signature counter, which Get advances.
	Counter uint32
	// Origin is where the client says the page came from.
	Origin string
	rpID   string
	// UV says whether the authenticator verifies its user (PIN or
	// biometrics).
	UV bool
}

// NewAuthenticator returns an authenticator for the relying party id
// and the origin, which verifies its user.
func NewAuthenticator(t testing.TB, rpID, origin string) *Authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	return &Authenticator{key: key, credID: id, Origin: origin, rpID: rpID, UV: true}
}

var b64 = base64.RawURLEncoding

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

func (a *Authenticator) flags() byte {
	if a.UV {
		return flagUP | flagUV
	}
	return flagUP
}

func (a *Authenticator) clientData(t testing.TB, typ string, challenge []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": b64.EncodeToString(challenge), "origin": a.Origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Create answers navigator.credentials.create(): a new credential with
// "none" attestation, bound to the user handle.
func (a *Authenticator) Create(t testing.TB, c *protocol.CredentialCreation, userHandle []byte) []byte {
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
	authData = binary.BigEndian.AppendUint32(authData, a.Counter)
	authData = append(authData, make([]byte, 16)...)                          // AAGUID: none
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(a.credID))) // #nosec G115 -- the credential id is 32 bytes (NewAuthenticator)
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

// Get answers navigator.credentials.get(): it signs authenticatorData ||
// SHA-256(clientDataJSON) with the counter incremented by step (0 for an
// authenticator without a counter).
func (a *Authenticator) Get(t testing.TB, c *protocol.CredentialAssertion, step uint32) []byte {
	t.Helper()
	a.Counter += step
	rpHash := sha256.Sum256([]byte(a.rpID))
	authData := append([]byte{}, rpHash[:]...)
	authData = append(authData, a.flags())
	authData = binary.BigEndian.AppendUint32(authData, a.Counter)
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
