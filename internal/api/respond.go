package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"sync"
)

// listOf is the body of every list response.
type listOf[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

// writeJSON answers v as JSON with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, "application/json", v)
}

func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	encodeBody(buf, v)
	writeEncoded(w, status, contentType, buf.Bytes())
}

// encodeBody appends v to buf as JSON, as every answer writes it.
func encodeBody(buf *bytes.Buffer, v any) {
	// Encode ends the body with a newline.
	if err := json.NewEncoder(buf).Encode(withEmptySlices(v)); err != nil {
		// Every response type marshals; this is a programming error.
		panic(err)
	}
}

// writeEncoded answers a body encoded by encodeBody.
func writeEncoded(w http.ResponseWriter, status int, contentType string, body []byte) {
	if contentType == "application/json" {
		w.Header()["Content-Type"] = jsonContentType
	} else {
		w.Header().Set("Content-Type", contentType)
	}
	noStore(w.Header())
	w.WriteHeader(status)
	// #nosec G705 -- body is JSON that encodeBody wrote (strings escaped by encoding/json), answered as its JSON Content-Type with nosniff; it is never HTML.
	_, _ = w.Write(body)
}

// bodyBuffers recycles response buffers: a response is encoded whole
// before its status is written (so that an encoding failure can still be a
// 500), and a fresh buffer for each was a large share of a GET's garbage.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps the buffers of rare, very large lists out of the pool.
const maxPooledBody = 256 << 10

// noStore sets the headers of every API answer: it carries personal data
// and, once, secrets, so no cache keeps it, and it is never sniffed into
// something else than its Content-Type.
func noStore(h http.Header) {
	h["Cache-Control"] = noStoreValue
	h["X-Content-Type-Options"] = nosniffValue
}

// Header values shared by every answer, set without Header.Set's copy and
// canonicalization. Nothing changes a header value in place, and adding a
// value to a one-element slice copies it.
var (
	jsonContentType = []string{"application/json"}
	noStoreValue    = []string{"no-store"}
	nosniffValue    = []string{"nosniff"}
)

// withEmptySlices returns v with every nil slice it reaches made empty, so
// that a list in a response is always a JSON array, never null: the domain
// types leave empty lists nil, and encoding/json writes nil as null.
// Objects reached through pointers are changed in place; a response owns
// what it writes.
func withEmptySlices(v any) any {
	if v == nil {
		return nil
	}
	rv := reflect.New(reflect.TypeOf(v)).Elem()
	rv.Set(reflect.ValueOf(v))
	fillSlices(rv, 0)
	return rv.Interface()
}

func fillSlices(v reflect.Value, depth int) {
	if depth > 32 {
		return // no response nests this deep; a cycle would
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			fillSlices(v.Elem(), depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fillSlices(f, depth+1)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // bytes marshal as a string
		}
		if v.IsNil() {
			if v.CanSet() {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			return
		}
		for i := range v.Len() {
			fillSlices(v.Index(i), depth+1)
		}
	}
}
