package guard

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8:ffff::/48, 192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted TrustedProxies
		remote  string
		header  map[string][]string
		want    string
	}{
		{"no proxy trusted: peer", TrustedProxies{}, "198.51.100.7:5000", nil, "198.51.100.7"},
		{"spoof without trusted proxies", TrustedProxies{}, "198.51.100.7:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "198.51.100.7"},
		{"spoof from an untrusted peer", proxies, "198.51.100.7:5000",
			map[string][]string{"X-Forwarded-For": {"10.1.1.1"}, "Forwarded": {"for=10.1.1.1"}}, "198.51.100.7"},
		{"trusted proxy forwards the client", proxies, "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.5"}}, "203.0.113.5"},
		{"client prepends a spoofed hop: right-most untrusted wins", proxies, "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 203.0.113.5"}}, "203.0.113.5"},
		{"spoofed trusted address left of the client is ignored", proxies, "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"10.9.9.9, 203.0.113.5, 10.0.0.3"}}, "203.0.113.5"},
		{"several header lines", proxies, "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4", "203.0.113.5, 10.0.0.3"}}, "203.0.113.5"},
		{"chain of trusted proxies only: left-most hop", proxies, "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"10.0.0.4, 10.0.0.3"}}, "10.0.0.4"},
		{"garbage hop stops the walk", proxies, "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.5, not-an-ip"}}, "10.0.0.2"},
		{"Forwarded is preferred", proxies, "10.0.0.2:5000",
			map[string][]string{"Forwarded": {`for=192.0.2.60;proto=https, for="[2001:db8::17]:4711"`},
				"X-Forwarded-For": {"1.2.3.4"}}, "2001:db8::17"},
		{"Forwarded obfuscated hop stops the walk", proxies, "10.0.0.2:5000",
			map[string][]string{"Forwarded": {"for=203.0.113.5, for=_hidden"}}, "10.0.0.2"},
		{"single trusted address", proxies, "192.0.2.9:1", map[string][]string{"X-Forwarded-For": {"203.0.113.5:8080"}}, "203.0.113.5"},
		{"IPv6 trusted proxy", proxies, "[2001:db8:ffff::1]:443",
			map[string][]string{"X-Forwarded-For": {"2001:db8:1::5"}}, "2001:db8:1::5"},
		{"IPv4-mapped peer", proxies, "[::ffff:10.0.0.2]:443",
			map[string][]string{"X-Forwarded-For": {"::ffff:203.0.113.5"}}, "203.0.113.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/v1/invoices", nil)
			r.RemoteAddr = tt.remote
			for k, vs := range tt.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := tt.trusted.ClientAddr(r).String(); got != tt.want {
				t.Errorf("ClientAddr = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseTrustedProxiesRefusesGarbage(t *testing.T) {
	for _, s := range []string{"10.0.0.0/33", "example.com", "10.0.0.0/8,,nope", "::ffff:1.2.3.4/8"} {
		if _, err := ParseTrustedProxies(s); err == nil {
			t.Errorf("ParseTrustedProxies(%q) = nil error, want one", s)
		}
	}
	tp, err := ParseTrustedProxies("")
	if err != nil || !tp.Empty() {
		t.Errorf("ParseTrustedProxies(\"\") = %v, %v; want an empty list", tp, err)
	}
}

func TestWithClientAddrPutsTheAddressInTheContext(t *testing.T) {
	tp, _ := ParseTrustedProxies("127.0.0.1")
	var got string
	h := WithClientAddr(tp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := ClientAddrFrom(r.Context())
		if ok {
			got = a.String()
		}
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:999"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "198.51.100.1" {
		t.Errorf("client address in context = %q, want 198.51.100.1", got)
	}
	if _, ok := ClientAddrFrom(r.Context()); ok {
		t.Error("ClientAddrFrom found an address in a context that WithClientAddr never saw")
	}
}
