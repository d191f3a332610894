package web_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"bursar/internal/auth/sso"
)

// forgeIDTokens is a transport between Bursar and the provider that
// re-signs every ID token of the token endpoint's answers with another
// key, keeping the header (and so the key id of the provider's real key):
// a token whose claims are all right but whose signature is not the
// provider's.
type forgeIDTokens struct {
	base http.RoundTripper
	key  *rsa.PrivateKey
}

func (f forgeIDTokens) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := f.base.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/token") {
		return res, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if tok, ok := m["id_token"].(string); ok {
		parts := strings.Split(tok, ".")
		signed := parts[0] + "." + parts[1]
		sum := sha256.Sum256([]byte(signed))
		sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
		if err != nil {
			return nil, err
		}
		m["id_token"] = signed + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	if b, err = json.Marshal(m); err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	res.ContentLength = int64(len(b))
	res.Header.Del("Content-Length")
	return res, nil
}

// An ID token that is right in every claim but signed by another key than
// the provider's is refused, and no session starts (ASVS 5.0 6.8.2).
func TestASVS_6_8_2_SSOForgedIDTokenSignatureRefused(t *testing.T) {
	s := newSSOEnv(t)
	s.configure(s.org.ID, func(*sso.Config) {})
	ann := s.user("ann@acme.example", "Ann Example", "viewer")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// Before the first flow: the service takes its client at first use.
	s.sso.HTTPClient = &http.Client{Transport: forgeIDTokens{base: http.DefaultTransport, key: key}}
	c := s.client()
	res := s.run(c, s.org.ID, &idpUser{email: ann.Email}, nil)
	s.refused(c, res, "failed to verify signature")
	s.noSession(ann)
}
