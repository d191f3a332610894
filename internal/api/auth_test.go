package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"bursar/internal/api"
	"bursar/internal/auth"
	"bursar/internal/ident"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	nobody := client{e: e}

	expired := func() string {
		secret := auth.SecretPrefix + "expiredexpiredexpiredexpiredexpi"
		past := time.Now().Add(-time.Hour).UTC()
		k := &auth.APIKey{ID: ident.New("key", time.Now()), OrgID: a.org.ID, Name: "old", Prefix: secret[:10],
			Hash: auth.HashSecret(secret), Scopes: []string{"*"}, CreatedAt: past.Add(-time.Hour), ExpiresAt: &past}
		if err := e.st.InsertAPIKey(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		return secret
	}()

	for _, c := range []struct {
		name   string
		header string
	}{
		{"no Authorization header", ""},
		{"an unknown key", "Bearer bsk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{"not a key at all", "Bearer hunter2"},
		{"another scheme", "Basic " + strings.TrimPrefix(a.key, "bsk_")},
		{"the scheme alone", "Bearer"},
		{"an expired key", "Bearer " + expired},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts []opt
			opts = append(opts, invalid)
			if c.header != "" {
				opts = append(opts, header("Authorization", c.header))
			}
			r := nobody.do("GET", "/v1/customers", nil, opts...)
			if p := r.problem(t); r.status != 401 || p.Code != "unauthenticated" {
				t.Errorf("%v, want 401 unauthenticated", r)
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
			}
		})
	}

	t.Run("a revoked key is refused at once", func(t *testing.T) {
		created := a.must(201, "POST", "/v1/api-keys", map[string]any{"name": "temp", "scopes": []string{"customers:read"}})
		secret, id := created["secret"].(string), created["id"].(string)
		if !strings.HasPrefix(secret, auth.SecretPrefix) || created["prefix"] != secret[:len(created["prefix"].(string))] {
			t.Fatalf("created key = %v, want its secret once", created)
		}
		k := a.with(secret)
		k.must(200, "GET", "/v1/customers", nil)
		revoked := a.must(200, "POST", "/v1/api-keys/"+id+"/revoke", nil)
		if revoked["revoked_at"] == nil {
			t.Errorf("revoked key = %v, want revoked_at", revoked)
		}
		if r := k.do("GET", "/v1/customers", nil); r.status != 401 {
			t.Errorf("%v, want 401 right after revocation", r)
		}
		// The key stays listed, and nothing shows a secret again.
		got := a.must(200, "GET", "/v1/api-keys/"+id, nil)
		if _, ok := got["secret"]; ok || got["revoked_at"] == nil {
			t.Errorf("GET of a revoked key = %v", got)
		}
		if r := a.do("GET", "/v1/api-keys", nil); strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), "hash") {
			t.Errorf("the key list shows a secret or a hash: %s", r.body)
		}
	})

	t.Run("a read-only key cannot write", func(t *testing.T) {
		ro := a.with(e.key(a.org.ID, "read"))
		ro.must(200, "GET", "/v1/customers", nil)
		ro.must(200, "GET", "/v1/organization", nil)
		for _, c := range [][2]string{{"POST", "/v1/customers"}, {"PATCH", "/v1/organization"}, {"POST", "/v1/api-keys"}} {
			r := ro.do(c[0], c[1], map[string]any{"name": "X"}, invalid)
			if p := r.problem(t); r.status != 403 || p.Code != "insufficient_scope" {
				t.Errorf("%v, want 403 insufficient_scope", r)
			}
		}
	})

	t.Run("an invoices:read key cannot touch customers", func(t *testing.T) {
		inv := a.with(e.key(a.org.ID, "invoices:read"))
		inv.must(200, "GET", "/v1/invoices", nil)
		for _, c := range [][2]string{{"GET", "/v1/customers"}, {"POST", "/v1/customers"}, {"POST", "/v1/invoices"}, {"GET", "/v1/api-keys"}} {
			if r := inv.do(c[0], c[1], map[string]any{"name": "X"}, invalid); r.status != 403 {
				t.Errorf("%v, want 403", r)
			}
		}
	})

	t.Run("a key cannot make a more powerful key", func(t *testing.T) {
		keys := a.with(e.key(a.org.ID, "api-keys:write", "invoices:read"))
		for _, scopes := range [][]string{{"*"}, {"write"}, {"read"}, {"invoices:write"}, {"customers:read"}} {
			r := keys.do("POST", "/v1/api-keys", map[string]any{"scopes": scopes})
			if p := r.problem(t); r.status != 422 || !slices.Contains(p.fields(), "scopes[0]") {
				t.Errorf("%v, want 422 naming scopes[0]", r)
			}
		}
		keys.must(201, "POST", "/v1/api-keys", map[string]any{"scopes": []string{"invoices:read", "api-keys:read"}})
	})

	t.Run("every route needs its own scope", func(t *testing.T) {
		// A key for every resource but the route's, and a read-only key of
		// the route's resource for a write: both are refused, before any
		// lookup (the ids do not exist).
		for _, rt := range api.Routes(e.h) {
			if !rt.Permissioned {
				continue
			}
			var others []string
			for _, res := range auth.Resources {
				if res != rt.Resource {
					others = append(others, res+":write")
				}
			}
			path := strings.ReplaceAll(rt.Pattern, "{id}", "x_1")
			keys := []string{e.key(a.org.ID, others...)}
			if rt.Write {
				keys = append(keys, e.key(a.org.ID, rt.Resource+":read"))
			}
			for _, k := range keys {
				if r := a.with(k).do(rt.Method, path, nil, invalid); r.status != 403 {
					t.Errorf("%v, want 403", r)
				}
			}
		}
	})
}
