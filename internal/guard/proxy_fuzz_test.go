package guard

import (
	"net/http/httptest"
	"testing"
)

// FuzzClientAddr feeds arbitrary forwarding headers to a server behind a
// trusted proxy and to one without: the answer never panics, an untrusted
// peer is always its own client, and a trusted peer's client is the peer or
// an address of the chain, never something made up.
func FuzzClientAddr(f *testing.F) {
	f.Add("1.2.3.4, 203.0.113.5", `for=192.0.2.60;proto=https, for="[2001:db8::17]:4711"`)
	f.Add("not-an-ip", "for=_hidden")
	f.Add("", "for=\"\"")
	f.Add("::ffff:10.0.0.9,10.0.0.8", "by=10.0.0.1")
	tp, _ := ParseTrustedProxies("10.0.0.0/8")
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		for _, remote := range []string{"10.0.0.2:1", "198.51.100.7:1"} {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = remote
			r.Header.Set("X-Forwarded-For", xff)
			if fwd != "" {
				r.Header.Set("Forwarded", fwd)
			}
			got := tp.ClientAddr(r)
			peer := peerAddr(remote)
			if !tp.Trusts(peer) && got != peer {
				t.Fatalf("untrusted peer %s: client %s", peer, got)
			}
			if !got.IsValid() {
				t.Fatalf("no client address for peer %s", peer)
			}
		}
	})
}

// FuzzParseLimit checks that ParseLimit never panics and that what it
// accepts is a usable bucket that reads back the same.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"20/s:40", "5/m", "off", "3/10s:6", "1/1ms", "9999999999/s", "1/h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLimit(s)
		if err != nil || l.Off() {
			return
		}
		if l.Requests < 1 || l.Burst < 1 || l.Period < 1e6 || l.window() <= 0 {
			t.Fatalf("ParseLimit(%q) = %+v, an unusable bucket", s, l)
		}
		back, err := ParseLimit(l.String())
		if err != nil || back != l {
			t.Fatalf("ParseLimit(%q).String() = %q reads back as %+v, %v", s, l.String(), back, err)
		}
	})
}
