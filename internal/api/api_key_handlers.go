package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/errs"
	"bursar/internal/page"
)

// apiKeyInput asks for a new API key.
type apiKeyInput struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// ExpiresAt is an RFC 3339 time, or "" for a key that does not expire.
	ExpiresAt string `json:"expires_at"`
}

// apiKeyCreated answers the creation of a key: the only answer that holds
// its secret. A replay of the request (Idempotency-Key) answers without it.
type apiKeyCreated struct {
	*auth.APIKey
	Secret string `json:"secret"`
}

// createAPIKey makes a key no more powerful than the one asking: every
// scope asked for must be allowed by the caller's scopes, and a caller
// whose key expires cannot make one that outlives it. Without that, a key
// allowed to write api-keys could mint itself "*".
func (a *api) createAPIKey(w http.ResponseWriter, r *http.Request, c caller) error {
	var in apiKeyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	// A user who makes a key needs a fresh authentication: a stolen
	// session must not mint a credential that outlives it.
	if err := a.stepUp(c); err != nil {
		return err
	}
	var f errs.Fields
	for i, s := range in.Scopes {
		if grantsMore(s, c.scopes()) {
			f.Add("scopes["+strconv.Itoa(i)+"]", "allows more than the API key making the request may do")
		}
	}
	var expires *time.Time
	if in.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, in.ExpiresAt)
		if err != nil {
			f.Add("expires_at", "must be a time written as in RFC 3339, such as 2027-01-31T00:00:00Z")
		} else {
			t = t.UTC()
			expires = &t
		}
	}
	if c.key != nil && c.key.ExpiresAt != nil && (expires == nil || expires.After(*c.key.ExpiresAt)) {
		lim := c.key.ExpiresAt
		f.Add("expires_at", "must be no later than %s, when the API key making the request expires", lim.UTC().Format(time.RFC3339))
	}
	if err := f.Err(); err != nil {
		return err
	}
	var k *auth.APIKey
	var secret string
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		k, secret, err = a.Auth.CreateAPIKey(ctx, c.orgID, in.Name, in.Scopes, expires)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "api_key.created", "api_key", k.ID, nil, k)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiKeyCreated{APIKey: k, Secret: secret})
	return nil
}

// grantsMore reports whether scope allows some access that scopes do not.
func grantsMore(scope string, scopes []string) bool {
	for _, res := range auth.Resources {
		for _, wr := range []bool{false, true} {
			if auth.Allows([]string{scope}, res, wr) && !auth.Allows(scopes, res, wr) {
				return true
			}
		}
	}
	return false
}

func (a *api) listAPIKeys(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r)
	p := q.page("key")
	if err := q.err(); err != nil {
		return err
	}
	l, err := fetchList(p, func(k *auth.APIKey) string { return k.ID }, func(p page.Params) ([]*auth.APIKey, error) {
		return a.Auth.List(r.Context(), c.orgID, p)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (a *api) getAPIKey(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "key", "API key")
	if err != nil {
		return err
	}
	k, err := a.Auth.Store.GetAPIKey(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}

// revokeAPIKey revokes a key at once; the next request with it is refused.
// Revoking is a POST action rather than a DELETE because the key stays
// listed, with its revocation time, for the audit trail.
func (a *api) revokeAPIKey(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "key", "API key")
	if err != nil {
		return err
	}
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := a.stepUp(c); err != nil {
		return err
	}
	var k *auth.APIKey
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, err := a.Auth.Store.GetAPIKey(ctx, c.orgID, id)
		if err != nil {
			return nil, err
		}
		k, err = a.Auth.Revoke(ctx, c.orgID, id)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "api_key.revoked", "api_key", id, before, k)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}
