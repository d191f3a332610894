package audit

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
)

// Policy says, per object type, which fields are logged with their
// values; every other field is logged as a keyed hash, so that personal
// data (names, emails, addresses, free text, invoice lines) stays out of
// the log by default. "*" logs every field's value.
var Policy = map[string][]string{
	"organization": {"name", "default_currency", "time_zone", "locale", "invoice_series", "credit_note_series"},
	"customer":     {"currency", "payment_terms_days", "locale", "credit_balance"},
	"product":      {"*"},
	"tax_rate":     {"*"},
	"invoice": {"currency", "prices_include_tax", "totals", "taxes", "number", "status", "customer_id", "issue_date",
		"due_date", "payment_terms_days", "amount_paid", "amount_credited", "credit_applied", "content_hash",
		"finalized_at", "paid_at", "voided_at"},
	"credit_note": {"number", "invoice_id", "issue_date", "applied_to_invoice", "credited_to_customer", "content_hash",
		"currency", "totals", "taxes"},
	"payment": {"invoice_id", "customer_id", "amount", "currency", "date", "method", "applied_to_invoice", "credited_to_customer"},
	"api_key": {"name", "prefix", "scopes", "expires_at", "revoked_at"},
	// An identity provider's configuration holds no secret or personal
	// data, and who trusts which issuer is what an auditor asks.
	"oauth_provider": {"*"},
	// Single sign-on's configuration as the API shows it: the client
	// secret only as whether it is set or was replaced, never itself.
	"sso_config": {"*"},
	// People: the email of an invitation is hashed; a member's role and
	// the session's public id are logged.
	"invitation": {"role", "invited_by", "expires_at", "accepted_at"},
	"member":     {"role"},
}

// unlogged are fields that every entry carries elsewhere or that change
// at every write.
var unlogged = []string{"id", "object", "created_at", "updated_at", "last_used_at"}

// Changes lists the fields of an object of the type whose JSON differs
// between before (nil for a creation) and after (nil for a deletion: no
// fields), by the type's Policy, hashing the others with h for the tree.
func Changes(h Hasher, tree, objectType string, before, after any) ([]Field, error) {
	if after == nil {
		return nil, nil
	}
	old, err := jsonMembers(before)
	if err != nil {
		return nil, err
	}
	cur, err := jsonMembers(after)
	if err != nil {
		return nil, err
	}
	policy := Policy[objectType]
	var out []Field
	for _, name := range slices.Sorted(maps.Keys(cur)) {
		v := cur[name]
		if slices.Contains(unlogged, name) || (before != nil && bytes.Equal(old[name], v)) {
			continue
		}
		f := Field{Name: name}
		if slices.Contains(policy, "*") || slices.Contains(policy, name) {
			f.Value = v
		} else {
			f.Hash = h.HashPersonal(tree, v)
		}
		out = append(out, f)
	}
	return out, nil
}

// jsonMembers returns the members of v's JSON object; nil for nil. Every
// audited change pays for it, twice, on documents of several kilobytes, so
// the object that json.Marshal wrote is split by members rather than
// decoded again (splitObject).
func jsonMembers(v any) (map[string]json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	// A document already encoded by json.Marshal (a transition's "before",
	// see invoice.WithLoaded) is compact already: it is split as it is,
	// without a second pass to compact it.
	if raw, ok := v.(json.RawMessage); ok {
		return splitObject(raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return splitObject(b)
}

// splitObject returns the members of a JSON object as json.Unmarshal into
// a map[string]json.RawMessage would, for the compact, valid JSON that
// json.Marshal writes: one pass, the values sub-slices of b. Anything else
// (whitespace, a document that is not an object) goes to json.Unmarshal.
func splitObject(b []byte) (map[string]json.RawMessage, error) {
	slow := func() (map[string]json.RawMessage, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		return m, nil
	}
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return slow()
	}
	m := make(map[string]json.RawMessage)
	i := 1
	if b[i] == '}' {
		return m, nil
	}
	for {
		// A key: a string, then a colon.
		if b[i] != '"' {
			return slow()
		}
		end := stringEnd(b, i)
		if end < 0 || end >= len(b) || b[end] != ':' {
			return slow()
		}
		raw := b[i:end]
		var key string
		if plainKey(raw) {
			key = string(raw[1 : len(raw)-1])
		} else if err := json.Unmarshal(raw, &key); err != nil {
			return nil, err
		}
		// A value: up to the comma, or the object's closing brace, at
		// depth zero.
		start, depth, k := end+1, 0, end+1
		for {
			if k >= len(b) || depth < 0 {
				return slow()
			}
			c := b[k]
			if depth == 0 && (c == ',' || c == '}') {
				break
			}
			switch c {
			case '"':
				e := stringEnd(b, k)
				if e < 0 {
					return slow()
				}
				k = e
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			case ' ', '\t', '\n', '\r':
				return slow()
			}
			k++
		}
		if k == start {
			return slow()
		}
		m[key] = json.RawMessage(b[start:k])
		if b[k] == '}' {
			if k != len(b)-1 {
				return slow()
			}
			return m, nil
		}
		i = k + 1
	}
}

// plainKey reports whether a quoted key is ASCII without escapes, which
// is its own decoding; any other goes through json.Unmarshal (escapes, and
// invalid UTF-8, which it replaces).
func plainKey(raw []byte) bool {
	for _, c := range raw {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// stringEnd returns the index just past the JSON string that starts at
// b[i] (a quote), or -1 if it does not end.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}
