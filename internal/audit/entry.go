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
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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
func canonicalJSON(raw []byte) (json.RawMessage, error) {
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
