package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"bursar/internal/errs"
)

// Request bodies are decoded by walking the tokens of encoding/json against
// the Go type, rather than by json.Unmarshal with DisallowUnknownFields,
// because Unmarshal stops at the first problem and names it without array
// indexes ("lines.quantity", and an unknown field by its bare name). Here
// every refused field is reported with its full path ("lines[3].quantity"),
// field names match exactly (Unmarshal ignores case), a name given twice is
// refused (two parsers must never read one body differently), null is
// accepted only where a field is optional by type (a pointer), a string
// may not hold NUL (PostgreSQL cannot store it), and an array that is
// present replaces the old one wholly, which Unmarshal does not promise when
// it decodes over an existing slice. Decoding over a filled value is how
// PATCH works: fields absent from the body keep their value, objects merge.

// readBody reads the whole request body, within the limit that the route
// wrapper set with http.MaxBytesReader.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, errs.E(errs.TooLarge, "request_too_large", "the request body is larger than %d bytes", tooLarge.Limit)
	case err != nil:
		return nil, errs.E(errs.Invalid, codeMalformedJSON, "the request body could not be read")
	}
	return b, nil
}

// decode reads the request body, one JSON object, into v, a pointer to a
// struct, over what v holds.
func decode(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeJSON(b, v)
}

// decodeEmpty accepts an empty body or an empty JSON object, for the
// actions that take no input.
func decodeEmpty(r *http.Request) error {
	b, err := readBody(r)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return err
	}
	return decodeJSON(b, &struct{}{})
}

func malformed(format string, args ...any) error {
	return errs.E(errs.Invalid, codeMalformedJSON, format, args...)
}

// decodeJSON decodes body into v (see decode).
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return malformed("the request body is empty; it must be a JSON object")
	}
	d := &decoder{dec: json.NewDecoder(bytes.NewReader(body))}
	d.dec.UseNumber()
	tok, err := d.dec.Token()
	if err != nil {
		return d.syntax(err)
	}
	if tok != json.Delim('{') {
		return malformed("the request body must be a JSON object")
	}
	if err := d.assign(reflect.ValueOf(v).Elem(), "", tok); err != nil {
		return d.syntax(err)
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return malformed("the request body must hold one JSON value and nothing after it")
	}
	return d.f.Err()
}

// decoder walks one JSON value; f collects the refused fields.
type decoder struct {
	dec *json.Decoder
	f   errs.Fields
}

// syntax turns an error of the tokenizer into a malformed_json problem.
func (d *decoder) syntax(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return malformed("the request body is not valid JSON: %s (at byte %d)", strings.TrimPrefix(se.Error(), "json: "), se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return malformed("the request body is not valid JSON: it ends too early")
	}
	return malformed("the request body is not valid JSON")
}

// value reads the next value into v.
func (d *decoder) value(v reflect.Value, path string) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	return d.assign(v, path, tok)
}

// assign reads the value that starts with tok into v. It returns only
// syntax errors; a value of the wrong type is recorded and skipped.
func (d *decoder) assign(v reflect.Value, path string, tok json.Token) error {
	if tok == nil {
		if v.Kind() != reflect.Pointer {
			d.f.Add(path, "must not be null")
			return nil
		}
		v.SetZero()
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		if err := d.assign(e.Elem(), path, tok); err != nil {
			return err
		}
		v.Set(e)
	case reflect.String:
		s, ok := tok.(string)
		if !ok {
			return d.refuse(path, "must be a string", tok)
		}
		if strings.IndexByte(s, 0) >= 0 {
			d.f.Add(path, "must not contain the NUL character")
			return nil
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := tok.(bool)
		if !ok {
			return d.refuse(path, "must be true or false", tok)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := tok.(json.Number)
		if !ok {
			return d.refuse(path, "must be an integer", tok)
		}
		i, err := strconv.ParseInt(string(n), 10, v.Type().Bits())
		if err != nil {
			d.f.Add(path, "must be an integer of at most %d bits", v.Type().Bits())
			return nil
		}
		v.SetInt(i)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return d.refuse(path, "must be an array", tok)
		}
		s := reflect.MakeSlice(v.Type(), 0, 0)
		for i := 0; d.dec.More(); i++ {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
			s = reflect.Append(s, e)
		}
		if _, err := d.dec.Token(); err != nil { // ]
			return err
		}
		v.Set(s)
	case reflect.Struct:
		if tok != json.Delim('{') {
			return d.refuse(path, "must be an object", tok)
		}
		return d.object(v, path)
	default:
		panic("api: no JSON decoding into " + v.Type().String())
	}
	return nil
}

// object reads the members of an object, whose { was read, into the struct
// v.
func (d *decoder) object(v reflect.Value, path string) error {
	seen := map[string]bool{}
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string) // the tokenizer allows only strings here
		p := name
		if path != "" {
			p = path + "." + name
		}
		i := fieldIndex(v.Type(), name)
		switch {
		case seen[name]:
			d.f.Add(p, "is given more than once")
		case i < 0:
			d.f.Add(p, "is not a known field")
		}
		if seen[name] || i < 0 {
			seen[name] = true
			if err := d.skip(); err != nil {
				return err
			}
			continue
		}
		seen[name] = true
		if err := d.value(v.Field(i), p); err != nil {
			return err
		}
	}
	_, err := d.dec.Token() // }
	return err
}

// fieldIndex returns the index of the field of the struct type t whose JSON
// name is name, exactly, or -1.
func fieldIndex(t reflect.Type, name string) int {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return i
		}
	}
	return -1
}

// refuse records that the value at path, which starts with tok, has the
// wrong type, and skips it.
func (d *decoder) refuse(path, reason string, tok json.Token) error {
	d.f.Add(path, "%s", reason)
	if tok == json.Delim('[') || tok == json.Delim('{') {
		return d.skipRest()
	}
	return nil
}

// skip reads and drops the next value.
func (d *decoder) skip() error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	if tok == json.Delim('[') || tok == json.Delim('{') {
		return d.skipRest()
	}
	return nil
}

// skipRest reads and drops the rest of an array or object whose opening
// delimiter was read.
func (d *decoder) skipRest() error {
	for depth := 1; depth > 0; {
		tok, err := d.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
	return nil
}
