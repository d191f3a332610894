package api

import (
	"net/http"
)

// The external tests (package api_test, which a test of package api cannot
// be: the SQL store they run on imports this package) see the route table
// and the mux through these.

// RouteInfo is a route of the table as the tests see it.
type RouteInfo struct {
	Method, Pattern, Resource string
	Write, Public             bool
	// Permissioned is true for a route whose resource is in the role
	// matrix and the scopes: not public, sign-in, nor one's own sessions.
	Permissioned bool
}

// Routes returns the route table of a handler made by New.
func Routes(h http.Handler) []RouteInfo {
	var out []RouteInfo
	for _, rt := range h.(*api).routes {
		out = append(out, RouteInfo{rt.method, rt.pattern, rt.resource, rt.write, rt.public(), rt.permissioned()})
	}
	return out
}

// MuxPattern returns the pattern of the mux of a handler made by New that
// serves r, or "".
func MuxPattern(h http.Handler, r *http.Request) string {
	_, pattern := h.(*api).mux.Handler(r)
	return pattern
}

// OpenAPIDocument is the embedded OpenAPI document.
var OpenAPIDocument = openAPI
