package api

import (
	"encoding/json"
	"net/http"
)

// ErasedReplay is the response that a replay of an idempotent request
// gets once the first response, which held personal data of a customer
// since erased, was replaced (privacy.Service.Erase): 410 Gone, so that
// the client learns that the request was carried out and is not carried
// out again, as it would be if the key were forgotten.
func ErasedReplay() (status int, contentType string, body []byte) {
	p := Problem{Type: "about:blank", Title: http.StatusText(http.StatusGone), Status: http.StatusGone, Code: "idempotent_response_erased",
		Detail: "the request with this Idempotency-Key was carried out; its response held personal data that has since been erased"}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // a struct of strings and an int always encodes
	}
	return http.StatusGone, "application/problem+json", b
}
