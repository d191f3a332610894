// Package audit is Bursar's tamper-evident audit log (DESIGN.md §7). Every
// change to the business and every security event becomes an Entry; its
// canonical encoding is a leaf of a Merkle tree (golang.org/x/mod/sumdb/tlog)
// appended in the same database transaction as the change, and signed
// checkpoints (golang.org/x/mod/sumdb/note) fix the tree's hash at a size,
// so that an edited, deleted, reordered or truncated history is detected.
//
// There is one tree per organization, and one tree named "system" for the
// events that belong to no organization (an unknown API key). Per-tenant
// trees let organizations append in parallel (the lock that serializes
// appends is the tree's, not the installation's) and let one
// organization's log be exported and verified offline in full, without
// another organization's entries.
//
// Personal values never enter a leaf in clear: they appear as keyed hashes
// (HMAC-SHA256 with the installation's audit key), so erasing a person
// later does not break the tree, and yet one who holds the key can tell
// whether a given value was involved.
package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ActorType says what kind of principal acted.
type ActorType string

// The actor types.
const (
	ActorUser   ActorType = "user"
	ActorAPIKey ActorType = "api_key"
	ActorSystem ActorType = "system"
)

// SystemTree is the tree of the events that belong to no organization.
const SystemTree = "system"

// Actor is who made a change.
type Actor struct {
	Type ActorType `json:"type"`
	ID   string    `json:"id"`
}

// Field is one changed field of an object. Value is the new value of a
// non-personal field, as JSON; Hash replaces it for a personal field.
// Both are empty for a field that was removed or for a deletion.
type Field struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value,omitempty"`
	Hash  string          `json:"hash,omitempty"`
}

// Entry is one record of the audit log. Tree and Index place it in its
// Merkle tree; they are assigned by Append.
type Entry struct {
	// Version is the leaf format, LeafVersion.
	Version    int       `json:"v"`
	Tree       string    `json:"tree"`
	Index      int64     `json:"index"`
	Time       time.Time `json:"time"`
	Actor      Actor     `json:"actor"`
	Action     string    `json:"action"`
	ObjectType string    `json:"object_type"`
	ObjectID   string    `json:"object_id"`
	Fields     []Field   `json:"fields"`
	// AddressHash is the keyed hash of the client's IP address: an
	// address is personal data.
	AddressHash string `json:"address_hash"`
	RequestID   string `json:"request_id"`
}

// LeafVersion is the version of the leaf format that Leaf writes.
const LeafVersion = 1

// Leaf returns the canonical encoding of the entry, the bytes that the
// Merkle tree hashes: the JSON object of the fields of Entry in their
// declaration order, without insignificant white space, without escaping
// of <, > and &, with the time in RFC 3339 UTC at microsecond precision
// and Fields as an array (never null). Field values are compact JSON whose
// object keys are sorted. The same entry always yields the same bytes, and
// Parse accepts only bytes in this form.
func (e *Entry) Leaf() ([]byte, error) {
	t, err := e.leafTemplate()
	if err != nil {
		return nil, err
	}
	return t.at(e.Index), nil
}

// leafTemplate is an entry's leaf around its index: the leaf is head, the
// index in decimal, then tail. Append encodes the entry before it takes
// the tree's lock, and only writes the index in while it holds it.
type leafTemplate struct{ head, tail []byte }

// at returns the leaf of the entry at index.
func (t leafTemplate) at(index int64) []byte {
	leaf := make([]byte, 0, len(t.head)+20+len(t.tail))
	leaf = append(leaf, t.head...)
	leaf = strconv.AppendInt(leaf, index, 10)
	return append(leaf, t.tail...)
}

// leafTemplate encodes the entry as a leaf, less its index. The members
// come in a fixed order and the time at a fixed width of six fractional
// digits, which other tools reproduce more easily than the trimmed fraction
// of time.Time's encoding.
func (e *Entry) leafTemplate() (leafTemplate, error) {
	c := *e
	c.Version = LeafVersion
	c.Time = c.Time.UTC().Truncate(time.Microsecond)
	c.Fields = make([]Field, len(e.Fields)) // canonical values are the leaf's, not the entry's
	for i, f := range e.Fields {
		c.Fields[i] = f
		if len(f.Value) > 0 {
			v, err := canonicalJSON(f.Value)
			if err != nil {
				return leafTemplate{}, fmt.Errorf("audit: field %s: %w", f.Name, err)
			}
			c.Fields[i].Value = v
		}
	}
	head, err := encodeMembers([]member{{"v", c.Version}, {"tree", c.Tree}})
	if err != nil {
		return leafTemplate{}, fmt.Errorf("audit: encode entry: %w", err)
	}
	tail, err := encodeMembers([]member{{"time", c.Time.Format(timeLayout)},
		{"actor", c.Actor}, {"action", c.Action}, {"object_type", c.ObjectType}, {"object_id", c.ObjectID},
		{"fields", c.Fields}, {"address_hash", c.AddressHash}, {"request_id", c.RequestID}})
	if err != nil {
		return leafTemplate{}, fmt.Errorf("audit: encode entry: %w", err)
	}
	// {"v":1,"tree":"acme","index":7,"time":...}
	head[len(head)-1] = ','
	head = append(head, `"index":`...)
	tail[0] = ','
	return leafTemplate{head: head, tail: tail}, nil
}

// member is one member of a JSON object.
type member struct {
	k string
	v any
}

// encodeMembers writes a JSON object of the members in their order,
// compact and without escaping <, > and &.
func encodeMembers(members []member) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, v := range []any{m.k, m.v} {
			if err := enc.Encode(v); err != nil {
				return nil, err
			}
			b.Truncate(b.Len() - 1) // the newline Encode adds
			if j == 0 {
				b.WriteByte(':')
			}
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// canonicalJSON re-encodes a JSON value compactly with sorted object keys.
// It runs for every field value of every entry, so it does not decode the
// value into an any and encode that again, as canonicalJSONSlow does: it
// walks the bytes once and copies what that round trip would write
// unchanged (numbers, literals, most strings), and sorts the members of
// each object in place. Its bytes are canonicalJSONSlow's for every input,
// since the leaves hash them: a document that json.Valid refuses (which
// the decoder may yet accept, as a value followed by garbage) goes to
// canonicalJSONSlow, and so do the strings that the round trip rewrites.
func canonicalJSON(raw []byte) (json.RawMessage, error) {
	if !json.Valid(raw) {
		return canonicalJSONSlow(raw)
	}
	sc := canonicalScratches.Get().(*canonicalScratch)
	c := canonicalizer{raw: raw,
		members: sc.members[:0], keys: sc.keys[:0], scratch: sc.scratch[:0], strings: &sc.strings}
	out := c.value(make([]byte, 0, len(raw)))
	sc.members, sc.keys, sc.scratch = c.members, c.keys, c.scratch
	if cap(sc.scratch)+cap(sc.keys)+sc.strings.buf.Cap() <= 64<<10 {
		canonicalScratches.Put(sc)
	}
	if c.err != nil {
		// Not expected of a valid document; the round trip decides.
		return canonicalJSONSlow(raw)
	}
	return out, nil
}

// canonicalScratch is the scratch space of canonicalJSON's walks, which
// canonicalScratches keeps from one call to the next, unless a large
// document grew it past 64 KiB.
type canonicalScratch struct {
	members []canonicalMember
	keys    []byte
	scratch []byte
	strings stringEncoder
}

var canonicalScratches = sync.Pool{New: func() any { return new(canonicalScratch) }}

// canonicalJSONSlow is the definition of canonicalJSON's bytes: the value
// decoded into an any, with numbers kept as written, and encoded again,
// which sorts object keys, keeps the last of duplicate keys and rewrites
// strings in the encoder's escapes.
func canonicalJSONSlow(raw []byte) (json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// canonicalizer is canonicalJSON's walk over a document that json.Valid
// accepted, so that it checks no syntax: raw[pos] is the next byte to
// read.
type canonicalizer struct {
	raw []byte
	pos int
	err error
	// members holds the members of the objects open at pos, innermost
	// last, and keys their keys decoded; scratch is where an object's
	// members wait while they are written back in order (one object at a
	// time: an object is written back only after those inside it).
	// Members hold offsets, not slices, so that sorting them moves no
	// pointers, each of which would cost a write barrier.
	members []canonicalMember
	keys    []byte
	scratch []byte
	strings *stringEncoder
}

// stringEncoder encodes the strings that are not copied as they are, as
// the encoder of canonicalJSONSlow does.
type stringEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// canonicalMember is a member of an object being canonicalized: where its
// key decoded, which orders it, is in keys, and where its `"key":value` is
// in out.
type canonicalMember struct {
	keyStart, keyEnd int
	start, end       int
}

func (c *canonicalizer) key(m canonicalMember) []byte { return c.keys[m.keyStart:m.keyEnd] }

func (c *canonicalizer) skipSpace() {
	for c.pos < len(c.raw) {
		switch c.raw[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

// value appends the value at pos, after any white space, to out. The
// walk passes out along rather than keeping it in c, whose stores would
// cost write barriers.
func (c *canonicalizer) value(out []byte) []byte {
	c.skipSpace()
	switch c.raw[c.pos] {
	case '{':
		return c.object(out)
	case '[':
		return c.array(out)
	case '"':
		return c.stringValue(out, false)
	case 't', 'n':
		c.pos += 4
		return append(out, c.raw[c.pos-4:c.pos]...)
	case 'f':
		c.pos += 5
		return append(out, c.raw[c.pos-5:c.pos]...)
	}
	// A number: decoded with UseNumber it is a json.Number, which the
	// encoder writes as it was written (-0, 1E+2 and 1.50 included).
	raw, start, i := c.raw, c.pos, c.pos
	for ; i < len(raw); i++ {
		if b := raw[i]; (b < '0' || b > '9') && b != '-' && b != '+' && b != '.' && b != 'e' && b != 'E' {
			break
		}
	}
	c.pos = i
	return append(out, raw[start:i]...)
}

func (c *canonicalizer) array(out []byte) []byte {
	c.pos++ // [
	out = append(out, '[')
	c.skipSpace()
	if c.raw[c.pos] == ']' {
		c.pos++
		return append(out, ']')
	}
	for {
		out = c.value(out)
		c.skipSpace()
		b := c.raw[c.pos]
		c.pos++
		out = append(out, b) // , or ]
		if b == ']' {
			return out
		}
	}
}

// object appends the members as they come, then, unless their keys
// already ascend, writes them again sorted as the encoder sorts a map's
// keys (by their bytes), keeping only the last member of a key, the one
// that decoding into a map keeps.
func (c *canonicalizer) object(out []byte) []byte {
	c.pos++ // {
	open := len(out)
	out = append(out, '{')
	base, keysBase := len(c.members), len(c.keys)
	sorted := true
	for {
		c.skipSpace()
		if c.raw[c.pos] == '}' { // only in {}
			break
		}
		if len(c.members) > base {
			out = append(out, ',')
		}
		m := canonicalMember{keyStart: len(c.keys), start: len(out)}
		out = c.stringValue(out, true)
		m.keyEnd = len(c.keys)
		c.skipSpace()
		c.pos++ // :
		out = append(out, ':')
		out = c.value(out)
		m.end = len(out)
		if len(c.members) > base && bytes.Compare(c.key(c.members[len(c.members)-1]), c.key(m)) >= 0 {
			sorted = false
		}
		c.members = append(c.members, m)
		c.skipSpace()
		if c.raw[c.pos] == '}' {
			break
		}
		c.pos++ // ,
	}
	c.pos++ // }
	if !sorted {
		ms := c.members[base:]
		slices.SortFunc(ms, func(a, b canonicalMember) int {
			if n := bytes.Compare(c.key(a), c.key(b)); n != 0 {
				return n
			}
			return cmp.Compare(a.start, b.start)
		})
		from := open + 1
		c.scratch = append(c.scratch[:0], out[from:]...)
		out = out[:from]
		for i, m := range ms {
			if i+1 < len(ms) && bytes.Equal(c.key(m), c.key(ms[i+1])) {
				continue // a later member of the same key replaces it
			}
			if len(out) > from {
				out = append(out, ',')
			}
			out = append(out, c.scratch[m.start-from:m.end-from]...)
		}
	}
	c.members, c.keys = c.members[:base], c.keys[:keysBase]
	return append(out, '}')
}

// stringValue appends the string at pos to out, and to keys decoded if it
// is a key. A string without escapes, in valid UTF-8 and without U+2028
// or U+2029 is its own decoding, and the encoder (not escaping <, > and &)
// writes it back as it is; any other is decoded and encoded by
// encoding/json, which replaces invalid UTF-8 and lone surrogates, and
// chooses its own escapes.
func (c *canonicalizer) stringValue(out []byte, key bool) []byte {
	raw, start := c.raw, c.pos
	plain, ascii := true, true
	i := start + 1
	for {
		b := raw[i]
		if b == '"' {
			break
		}
		if b == '\\' {
			plain = false
			i++ // the escaped byte, which may be a quote
		} else if b >= utf8.RuneSelf {
			ascii = false
		}
		i++
	}
	c.pos = i + 1
	quoted := raw[start:c.pos]
	s := quoted[1 : len(quoted)-1]
	if plain && (ascii || utf8.Valid(s) && !bytes.Contains(s, lineSeparator) && !bytes.Contains(s, paragraphSeparator)) {
		if key {
			c.keys = append(c.keys, s...)
		}
		return append(out, quoted...)
	}
	var str string
	if err := json.Unmarshal(quoted, &str); err != nil {
		c.err = err
		return out
	}
	if key {
		c.keys = append(c.keys, str...)
	}
	e := c.strings
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.buf)
		e.enc.SetEscapeHTML(false)
	}
	e.buf.Reset()
	if err := e.enc.Encode(str); err != nil {
		c.err = err
		return out
	}
	return append(out, bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))...)
}

// U+2028 and U+2029 in UTF-8, which the encoder escapes.
var lineSeparator, paragraphSeparator = []byte("\u2028"), []byte("\u2029")

// ErrNotCanonical is returned by Parse for a leaf that is valid JSON but
// not in the canonical form that Leaf writes.
var ErrNotCanonical = errors.New("audit: leaf is not in canonical form")

// Parse decodes a leaf and checks that it is canonical: encoding the
// decoded entry again gives the same bytes.
func Parse(leaf []byte) (*Entry, error) {
	d := json.NewDecoder(bytes.NewReader(leaf))
	d.DisallowUnknownFields()
	var e Entry
	if err := d.Decode(&e); err != nil {
		return nil, fmt.Errorf("audit: decode leaf: %w", err)
	}
	again, err := e.Leaf()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, leaf) || e.Version != LeafVersion {
		return nil, ErrNotCanonical
	}
	return &e, nil
}

// EntryID is the identifier of the entry at index in the API: "aud_" and
// the index, so that identifiers sort like the log.
func EntryID(index int64) string { return "aud_" + strconv.FormatInt(index, 10) }

// ParseEntryID is the inverse of EntryID.
func ParseEntryID(id string) (int64, error) {
	s, ok := strings.CutPrefix(id, "aud_")
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("audit: malformed entry id %q", id)
	}
	return n, nil
}
