package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"bursar/internal/auth"
	"bursar/internal/errs"
	"bursar/internal/ident"
)

type ctxKey int

const requestIDKey ctxKey = iota

// withRequestID gives the request an identifier, in its context and in the
// X-Request-Id response header, for problem documents and logs. A request
// that already has one (from RequestIDs, in front of the guard) keeps it, so
// that a request has one id wherever it is answered.
func withRequestID(w http.ResponseWriter, r *http.Request, now func() time.Time) *http.Request {
	if requestID(r.Context()) != "" {
		return r
	}
	id := ident.New("req", now())
	w.Header().Set("X-Request-Id", id)
	return r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
}

// RequestIDs is middleware that gives every request its identifier before
// it reaches next. The server puts it in front of everything that may answer
// with a problem document before the API does (the guard), so that such
// answers name a request id too.
func RequestIDs(now func() time.Time, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, withRequestID(w, r, now))
	})
}

// RequestID returns the identifier of the request, or "" if it has none.
func RequestID(ctx context.Context) string { return requestID(ctx) }

// requestID returns the identifier of the request.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// caller is who makes a request: an API key and so its organization, or a
// user's session and the organization and role it acts with (none on the
// routes of the caller's own sessions).
type caller struct {
	orgID string
	key   *auth.APIKey

	user    *auth.User
	session *auth.Session
	secret  string // the session's cookie value
	role    auth.Role
}

// handlerFunc serves one route for a caller. It writes the success
// response itself and returns the error to answer otherwise.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c caller) error

const codeInsufficientScope = "insufficient_scope"

// handle wraps a route's handler with what every route goes through:
// authentication and the scope check (unless the route is public), the
// body limit, and, for a POST with an Idempotency-Key, the idempotency
// record.
func (a *api) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c caller
		switch {
		case rt.public():
		case rt.resource == signin:
			if a.Identity == nil {
				a.fail(w, r, errNoRoute(r.URL.Path))
				return
			}
			if err := checkOrigin(r); err != nil {
				a.fail(w, r, err)
				return
			}
		case len(r.Header.Values("Authorization")) == 0 && a.Identity != nil && sessionOf(r) != "":
			var err error
			if c, err = a.sessionCaller(w, r, rt, sessionOf(r)); err != nil {
				a.fail(w, r, err)
				return
			}
		case rt.resource == self || rt.resource == challenge:
			a.fail(w, r, errs.E(errs.Unauthorized, "unauthenticated", "sign in: this route serves a session only"))
			return
		default:
			key, err := a.authenticate(r)
			if err != nil {
				a.auditRejected(r, rt, err)
				a.fail(w, r, err)
				return
			}
			// Rate limits come before the scope check: a key that floods
			// the server with requests it may not make still spends its
			// budget.
			if err := a.Limiter.AllowKey(w, r, key.ID, key.OrgID); err != nil {
				a.fail(w, r, err)
				return
			}
			if !auth.Allows(key.Scopes, rt.resource, rt.write) {
				access := "read"
				if rt.write {
					access = "write"
				}
				a.auditDenied(r, caller{orgID: key.OrgID, key: key}, rt, access)
				a.fail(w, r, errs.E(errs.Forbidden, codeInsufficientScope, "the API key's scopes do not allow %s access to %s", access, rt.resource))
				return
			}
			c = caller{orgID: key.OrgID, key: key}
		}
		r.Body = http.MaxBytesReader(w, r.Body, a.MaxBodyBytes)
		if r.Method == http.MethodPost && len(r.Header.Values(idempotencyHeader)) > 0 && rt.permissioned() {
			a.idempotent(w, r, c, rt)
			return
		}
		if err := rt.h(w, r, c); err != nil {
			a.fail(w, r, err)
		}
	})
}

// authenticate returns the live API key that the request's bearer token
// names.
func (a *api) authenticate(r *http.Request) (*auth.APIKey, error) {
	h := r.Header.Values("Authorization")
	scheme, token, ok := "", "", false
	if len(h) == 1 {
		scheme, token, ok = strings.Cut(h[0], " ")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, errs.E(errs.Unauthorized, "unauthenticated", "send an API key as Authorization: Bearer <key>")
	}
	token = strings.TrimSpace(token)
	if a.bearerToken(token) {
		return a.authenticateToken(r.Context(), token)
	}
	return a.Auth.Authenticate(r.Context(), token)
}

const (
	idempotencyHeader = "Idempotency-Key"
	maxIdempotencyKey = 255
)

// idempotent runs a POST that carries an Idempotency-Key at most once per
// organization and key: the first request reserves the key with a hash of
// what it asks, a replay with the same hash gets the first response again,
// another request with the key is refused. A 5xx answer, or a conflict of
// concurrent writers, releases the key so that the client may retry; every
// other answer is kept, as it would be the same again.
func (a *api) idempotent(w http.ResponseWriter, r *http.Request, c caller, rt route) {
	key, err := idempotencyKey(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	r.Body = http.NoBody
	if len(body) > 0 {
		r.Body = readCloser{bytes.NewReader(body)}
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	h.Write(body)
	rec := &IdempotencyRecord{OrgID: c.orgID, Key: key, Method: r.Method, Path: r.URL.Path,
		RequestHash: hex.EncodeToString(h.Sum(nil)), CreatedAt: a.Now().UTC()}
	existing, err := a.Idempotency.ReserveIdempotencyKey(r.Context(), rec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if existing != nil {
		switch {
		case existing.RequestHash != rec.RequestHash:
			a.fail(w, r, errs.E(errs.Invalid, "idempotency_key_reused", "this Idempotency-Key was used for another request; use a new key for a new request"))
		case existing.Status == 0:
			a.fail(w, r, errs.E(errs.Conflict, "idempotency_key_in_use", "a request with this Idempotency-Key is still being handled; retry later"))
		default:
			if existing.ContentType != "" {
				w.Header().Set("Content-Type", existing.ContentType)
			}
			noStore(w.Header())
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(existing.Status)
			_, _ = w.Write(existing.Body)
		}
		return
	}

	// The record outlives the request: a client that hangs up must not
	// leave its key reserved.
	ctx := context.WithoutCancel(r.Context())
	done := false
	defer func() {
		if !done { // the handler panicked
			a.release(ctx, r, rec)
		}
	}()
	buf := &recorder{header: http.Header{}}
	herr := rt.h(buf, r, c)
	if herr != nil {
		a.fail(buf, r, herr)
	}
	done = true
	if buf.status == 0 {
		buf.status = http.StatusOK
	}
	if buf.status >= 500 || errs.CodeOf(herr) == "version_conflict" {
		a.release(ctx, r, rec)
	} else {
		rec.Status, rec.ContentType, rec.Body = buf.status, buf.header.Get("Content-Type"), buf.body.Bytes()
		rec.Body = withoutSecret(rec.Body)
		if err := a.Idempotency.CompleteIdempotencyKey(ctx, rec); err != nil {
			// The work is done and its answer goes out; a replay will be
			// told the key is in use, which is safer than doing it twice.
			a.Logger.ErrorContext(ctx, "api: store idempotent response", "request_id", requestID(ctx), "err", err)
		}
	}
	buf.flush(w)
}

func (a *api) release(ctx context.Context, r *http.Request, rec *IdempotencyRecord) {
	if err := a.Idempotency.ReleaseIdempotencyKey(ctx, rec.OrgID, rec.Key); err != nil {
		a.Logger.ErrorContext(ctx, "api: release idempotency key", "request_id", requestID(ctx), "route", r.Pattern, "err", err)
	}
}

// idempotencyKey returns the request's Idempotency-Key, refusing one that is
// empty, too long, repeated, or not printable ASCII.
func idempotencyKey(r *http.Request) (string, error) {
	vals := r.Header.Values(idempotencyHeader)
	var f errs.Fields
	k := vals[0]
	switch {
	case len(vals) > 1:
		f.Add(idempotencyHeader, "must be given once")
	case k == "" || len(k) > maxIdempotencyKey:
		f.Add(idempotencyHeader, "must be 1 to %d characters long", maxIdempotencyKey)
	case strings.ContainsFunc(k, func(c rune) bool { return c < 0x20 || c > 0x7e }):
		f.Add(idempotencyHeader, "must be printable ASCII, such as a UUID")
	}
	if len(f) > 0 {
		return "", &errs.Error{Kind: errs.Invalid, Code: codeInvalidIdempotency, Message: "the Idempotency-Key header is invalid", Fields: f}
	}
	return k, nil
}

// withoutSecret removes the member "secret" from a JSON object: a secret
// is shown once and stored nowhere, so a replay of the request that made it
// answers without it. Any other body is returned as it is.
func withoutSecret(body []byte) []byte {
	var m map[string]json.RawMessage
	if !bytes.Contains(body, []byte(`"secret"`)) || json.Unmarshal(body, &m) != nil {
		return body
	}
	if _, ok := m["secret"]; !ok {
		return body
	}
	delete(m, "secret")
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return append(b, '\n')
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// recorder holds a response until the idempotency record has it, so that a
// client never sees an answer that a replay would not give.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.Write(b)
}

func (rec *recorder) flush(w http.ResponseWriter) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}
