package web

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"bursar/internal/auth"
	"bursar/internal/errs"
)

// pages are the parsed templates, one set per page: the layout and the
// page's own "content".
type pages map[string]*template.Template

func parsePages() pages {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := pages{}
	for _, n := range names {
		name := strings.TrimPrefix(n, "templates/")
		if name == "layout.html" {
			continue
		}
		out[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}

// view is what a page shows.
type view struct {
	Title string
	// User is the signed-in user, who gets the navigation.
	User *auth.User
	CSRF string
	// Error is a message about the whole form; Fields holds one per
	// field, shown beside it and tied to it with aria-describedby.
	Error  string
	Fields map[string]string
	Notice string
	// Form holds values to show again after an error (never a secret).
	Form map[string]string
	// Script loads the WebAuthn script.
	Script bool
	Data   any
}

// render writes a page with the status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := h.pages[page]
	if !ok {
		panic("web: no template " + page) // a programming error
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.Logger.ErrorContext(r.Context(), "web: render", "page", page, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// show renders a page for the visitor, with the navigation when signed
// in and the token of the visitor's forms.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, v *visitor, status int, page string, vw *view) {
	if v.sess != nil && v.sess.State == auth.SessionActive {
		vw.User = v.user
	}
	if v.secret != "" {
		vw.CSRF = v.csrf()
	}
	h.render(w, r, status, page, vw)
}

// fail answers an error that the handler did not place itself.
//
// An error of a known kind (a conflict, a refusal, bad input) that reached
// here is not a fault of ours: it gets its own status and safe message,
// never a 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	vw := &view{Title: "Request refused"}
	if status, ok := formError(err, vw); ok {
		h.Logger.InfoContext(r.Context(), "web: request refused", "method", r.Method, "path", r.URL.Path, "err", err)
		h.render(w, r, status, "error.html", vw)
		return
	}
	h.Logger.ErrorContext(r.Context(), "web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	h.render(w, r, http.StatusInternalServerError, "error.html", &view{Title: "Something went wrong",
		Error: "Something went wrong on our side. Please try again in a moment."})
}

// formError turns a service's error into what the form shows and the
// status to answer with: the field errors of an Invalid error beside their
// fields, the safe message of another known error above the form. ok is
// false for an error that is not the visitor's to fix.
func formError(err error, vw *view) (status int, ok bool) {
	var e *errs.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	switch e.Kind {
	case errs.Invalid:
		status = http.StatusUnprocessableEntity
	case errs.Unauthorized:
		status = http.StatusUnauthorized
	case errs.Forbidden:
		status = http.StatusForbidden
	case errs.NotFound:
		status = http.StatusNotFound
	case errs.Conflict:
		status = http.StatusConflict
	case errs.RateLimited:
		status = http.StatusTooManyRequests
	default:
		return 0, false
	}
	if len(e.Fields) > 0 {
		vw.Fields = map[string]string{}
		for _, f := range e.Fields {
			if vw.Fields[f.Field] == "" {
				vw.Fields[f.Field] = sentence(f.Field, f.Reason)
			}
		}
		vw.Error = "Please correct the fields below."
		return status, true
	}
	vw.Error = capitalize(e.Message) + "."
	return status, true
}

// sentence makes a field's reason ("must be 1 to 100 characters long")
// readable beside its field.
func sentence(field, reason string) string {
	label := strings.ReplaceAll(field, "_", " ")
	return capitalize(label) + " " + reason + "."
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
