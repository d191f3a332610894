package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writePair writes a self-signed certificate with the serial number and
// its key, dated mtime.
func writePair(t *testing.T, certFile, keyFile string, serial int64, mtime time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for f, b := range map[string][]byte{
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func serial(t *testing.T, k *keyPair) int64 {
	t.Helper()
	c, err := k.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.Int64()
}

// A certificate renewed on disk is served without a restart, once the
// check interval has passed; a renewal that does not load keeps the old one.
func TestKeyPairReloadsRenewedCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	start := time.Now().Add(-time.Hour)
	writePair(t, certFile, keyFile, 1, start)
	k := &keyPair{certFile: certFile, keyFile: keyFile, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := k.load(); err != nil {
		t.Fatal(err)
	}
	writePair(t, certFile, keyFile, 2, start.Add(time.Minute))
	if got := serial(t, k); got != 1 {
		t.Errorf("before the check interval: serial %d, want 1", got)
	}
	k.checked = time.Now().Add(-keyPairCheck)
	if got := serial(t, k); got != 2 {
		t.Errorf("after the check interval: serial %d, want 2", got)
	}
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	k.checked = time.Now().Add(-keyPairCheck)
	if got := serial(t, k); got != 2 {
		t.Errorf("after a broken renewal: serial %d, want the previous 2", got)
	}
}
