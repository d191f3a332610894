package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 document of the API, written by hand: it is
// the contract, and the tests hold every handler to it with kin-openapi's
// request and response validation (conformance_test.go).
//
// kin-openapi v0.152.0 loads it as OpenAPI 3.1 and validates bodies with
// JSON Schema 2020-12, so the document needs no 3.0 compromise; it keeps to
// plain forms all the same: a value that may be null is a type array with
// "null" (3.0's nullable is gone in 3.1), or anyOf with {"type": "null"}
// for a $ref; a create schema is allOf of its input schema plus required,
// with no keyword beside a $ref; response schemas list every field and
// refuse others (additionalProperties: false), so that a field the
// document forgets fails the tests.
//
//go:embed openapi.json
var openAPI []byte

func (a *api) getOpenAPI(w http.ResponseWriter, r *http.Request, c caller) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPI)
	return nil
}
