package api_test

import (
	"slices"
	"testing"

	"bursar/internal/api"
	"bursar/internal/guard"
)

// The WAF in front of the API refuses every method it does not allow: a
// route with a method it does not know would be unreachable in the server.
func TestWAFAllowsEveryRouteMethod(t *testing.T) {
	e := newEnv(t)
	for _, rt := range api.Routes(e.h) {
		if !slices.Contains(guard.AllowedMethods(), rt.Method) {
			t.Errorf("%s %s: the WAF does not allow %s (guard.AllowedMethods)", rt.Method, rt.Pattern, rt.Method)
		}
	}
}
