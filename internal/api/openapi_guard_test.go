package api_test

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"bursar/internal/api"
)

// The guard stands in front of every route: its WAF may refuse any request
// (403 request_blocked) and its body limits any request with a body (413
// request_too_large). The document must say so for every operation, so that
// a client generated from it expects those answers.
func TestOpenAPIDocumentsTheGuardsAnswers(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			if op.Responses.Value("403") == nil {
				t.Errorf("%s %s documents no 403 (the WAF's request_blocked)", method, path)
			}
			if op.RequestBody != nil && op.Responses.Value("413") == nil {
				t.Errorf("%s %s takes a body but documents no 413 (request_too_large)", method, path)
			}
		}
	}
	if n < 50 {
		t.Fatalf("found %d operations; the document did not load as expected", n)
	}
}
