package auth

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// The client for providers' documents does not reach the server's own
// network: loopback (and so private and link-local) addresses are refused.
func TestPublicOnlyHTTPClientRefusesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	resp, err := PublicOnlyHTTPClient().Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("fetched from a loopback address")
	}
	// The same server is reachable with an ordinary client: the refusal
	// above is the dialer's.
	resp, err = http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// A token's scopes: Bursar scopes of the scope claim (string or array),
// and the scopes of the roles its role claim names; nothing else.
func TestOAuthScopesFor(t *testing.T) {
	p := &OAuthProvider{ScopeClaim: "scope", RoleClaim: "groups",
		Roles: []RoleMapping{{Value: "billing", Scopes: []string{"invoices:write"}}, {Value: "audit", Scopes: []string{"audit:read", "read"}}}}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   []string
	}{
		{"space-separated scope", map[string]any{"scope": "openid customers:read email"}, []string{"customers:read"}},
		{"array scope", map[string]any{"scope": []any{"read", "bogus:write", 7}}, []string{"read"}},
		{"role", map[string]any{"groups": []any{"billing", "other"}}, []string{"invoices:write"}},
		{"both, deduplicated", map[string]any{"scope": "read", "groups": "audit"}, []string{"read", "audit:read"}},
		{"neither", map[string]any{"sub": "x", "bursar_role": "billing"}, nil},
		{"claim of the wrong type", map[string]any{"scope": map[string]any{"read": true}}, nil},
	} {
		if got := p.ScopesFor(tc.claims); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLooksLikeJWT(t *testing.T) {
	for tok, want := range map[string]bool{
		"eyJhbGciOiJSUzI1NiJ9.e30.c2ln": true,
		"bsk_abcdefghijklmnop":          false,
		"a.b.c":                         false,
		"eyJ0eXAiOiJKV1QifQ.e30.c2ln":   false, // no alg
		"eyJhbGciOiJSUzI1NiJ9.e30":      false,
	} {
		if got := LooksLikeJWT(tok); got != want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", tok, got, want)
		}
	}
}
