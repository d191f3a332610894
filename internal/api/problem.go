package api

import (
	"errors"
	"net/http"

	"bursar/internal/errs"
)

// Problem is an RFC 9457 problem document, the body of every error
// response. Code is the stable, machine-readable name of the error; Errors
// names each refused field.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail"`
	Code      string            `json:"code"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
	RequestID string            `json:"request_id"`
}

// kindStatus is the one table from error kinds to HTTP statuses.
var kindStatus = map[errs.Kind]int{
	errs.Internal:     http.StatusInternalServerError,
	errs.Invalid:      http.StatusUnprocessableEntity,
	errs.NotFound:     http.StatusNotFound,
	errs.Conflict:     http.StatusConflict,
	errs.Unauthorized: http.StatusUnauthorized,
	errs.Forbidden:    http.StatusForbidden,
	errs.TooLarge:     http.StatusRequestEntityTooLarge,
	errs.RateLimited:  http.StatusTooManyRequests,
}

// codeStatus refines kindStatus for the errors about the form of a request
// rather than its content, for which errs has no kind of its own.
var codeStatus = map[string]int{
	codeMalformedJSON:      http.StatusBadRequest,
	codeInvalidParameter:   http.StatusBadRequest,
	codeInvalidIdempotency: http.StatusBadRequest,
	codeMethodNotAllowed:   http.StatusMethodNotAllowed,
}

// The codes of the errors this package raises itself.
const (
	codeMalformedJSON      = "malformed_json"
	codeInvalidParameter   = "invalid_parameter"
	codeInvalidIdempotency = "invalid_idempotency_key"
	codeMethodNotAllowed   = "method_not_allowed"
	codeInternal           = "internal_error"
)

// statusOf returns the HTTP status of an error.
func statusOf(e *errs.Error) int {
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	if s, ok := kindStatus[e.Kind]; ok {
		return s
	}
	return http.StatusInternalServerError
}

func errNoRoute(path string) error {
	return errs.E(errs.NotFound, "not_found", "no route serves %s", path)
}

func errMethodNotAllowed(method string) error {
	return errs.E(errs.Invalid, codeMethodNotAllowed, "this path does not take %s; the Allow header lists the methods it takes", method)
}

// fail answers err as a problem document. An error without a kind, or of
// kind Internal, is logged and answered with a generic 500 that shows
// nothing of it: its text may hold SQL or paths.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind == errs.Internal {
		a.Logger.ErrorContext(r.Context(), "api: request failed", "request_id", requestID(r.Context()),
			"method", r.Method, "route", r.Pattern, "err", err)
	}
	WriteProblem(w, r, err)
}

// WriteProblem answers err as a problem document, its status decided by
// the one table of kinds and codes. It is exported for the middleware in
// front of the API (the guard), whose refusals must look like the API's
// own. An error that is not an *errs.Error, or is of kind Internal, is
// answered with a generic 500 that shows nothing of it; the caller logs it.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind == errs.Internal {
		e = errs.E(errs.Internal, codeInternal, "an internal error occurred; quote the request id when you report it")
	}
	status := statusOf(e)
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: e.Message,
		Code: e.Code, Errors: e.Fields, RequestID: requestID(r.Context())}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="bursar"`)
	case http.StatusForbidden:
		if e.Code == codeInsufficientScope {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bursar", error="insufficient_scope"`)
		}
	}
	writeBody(w, status, "application/problem+json", p)
}
