// Package errs is Bursar's small error vocabulary: every error a user can
// see has a Kind (which decides the HTTP status in one table, in the API
// package), a stable machine-readable Code, a safe message and, for invalid
// input, the fields at fault. Errors are checked by kind or code, never by
// message text.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error for the caller.
type Kind int

// The kinds of error.
const (
	Internal     Kind = iota // a fault of ours; its detail is logged, never shown
	Invalid                  // the input breaks a rule; Fields say which
	NotFound                 // no such object in the caller's organization
	Conflict                 // the object's state forbids the operation
	Unauthorized             // no valid credentials
	Forbidden                // credentials lack the permission
	TooLarge                 // the request body is larger than allowed
	RateLimited              // the caller spent its request budget; retry later
)

// FieldError names one field and why its value was refused. Field is a JSON
// path such as "lines[3].quantity".
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is an error with a kind, a stable code and a message that is safe to
// show to the caller. Err, if set, is the cause and is only logged.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error of a kind with a code and a message.
func E(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf is the error for an object that does not exist in the caller's
// organization (or does exist, but in another one: the answer is the same).
func NotFoundf(object, id string) *Error {
	return &Error{Kind: NotFound, Code: "not_found", Message: fmt.Sprintf("%s %q not found", object, id)}
}

// KindOf returns the kind of err, Internal for errors of no kind.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the code of err, "" for errors of no kind.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Fields collects field errors and turns them into one Invalid error.
type Fields []FieldError

// Add records that field was refused for reason.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Err returns nil when no field was refused, else an Invalid error listing
// every refused field.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Code: "validation_failed", Message: "the request has invalid fields", Fields: f}
}
