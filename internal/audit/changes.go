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

// jsonMembers returns the members of v's JSON object; nil for nil.
func jsonMembers(v any) (map[string]json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}
