package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Each bad input of the issue (§7) is refused with a problem document that
// names the field and the reason, and nothing at all is written.
func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenant("Acme")
	b := e.tenant("Beta")
	fa, fb := a.seed(t), b.seed(t)

	line := func(kv ...string) map[string]any {
		l := map[string]any{"description": "Consulting", "quantity": "1", "unit_price": "10.00"}
		for i := 0; i < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return l
	}
	inv := func(l map[string]any) map[string]any {
		return map[string]any{"customer_id": fa.customer, "lines": []any{l}}
	}
	many := make([]any, 1001)
	for i := range many {
		many[i] = line()
	}
	huge := `{"name": "` + strings.Repeat("x", 300<<10) + `"}`

	cases := []struct {
		name         string
		method, path string
		body         any
		status       int
		code, field  string
	}{
		{"unknown currency of a customer", "POST", "/v1/customers", map[string]any{"name": "X", "currency": "XYZ"}, 422, "validation_failed", "currency"},
		{"unknown currency of an invoice", "POST", "/v1/invoices", map[string]any{"customer_id": fa.customer, "currency": "ABC", "lines": []any{line()}}, 422, "validation_failed", "currency"},
		{"lower-case currency", "PATCH", "/v1/customers/" + fa.customer, map[string]any{"currency": "eur"}, 422, "validation_failed", "currency"},
		{"negative quantity on a credit note line", "POST", "/v1/credit-notes", map[string]any{"invoice_id": fa.open, "reason": "x",
			"lines": []any{line("quantity", "-1")}}, 422, "validation_failed", "lines[0].quantity"},
		{"negative payment amount", "POST", "/v1/invoices/" + fa.open + "/payments", map[string]any{"amount": "-5.00"}, 422, "validation_failed", "amount"},
		{"1001 lines", "POST", "/v1/invoices", map[string]any{"customer_id": fa.customer, "lines": many}, 422, "validation_failed", "lines"},
		{"unit price of 10^15", "POST", "/v1/invoices", inv(line("unit_price", "1000000000000000")), 422, "validation_failed", "lines[0].unit_price"},
		{"negative unit price of -10^15", "PATCH", "/v1/invoices/" + fa.draft, map[string]any{"lines": []any{line("unit_price", "-1000000000000000")}}, 422, "validation_failed", "lines[0].unit_price"},
		{"payment of 10^15", "POST", "/v1/invoices/" + fa.open + "/payments", map[string]any{"amount": "1000000000000000"}, 422, "validation_failed", "amount"},
		{"product price of 10^15", "POST", "/v1/products", map[string]any{"name": "P", "unit_price": "1000000000000000.00"}, 422, "validation_failed", "unit_price"},
		{"exponent 1e3", "POST", "/v1/invoices", inv(line("quantity", "1e3")), 422, "validation_failed", "lines[0].quantity"},
		{"NaN", "POST", "/v1/invoices", inv(line("quantity", "NaN")), 422, "validation_failed", "lines[0].quantity"},
		{"hexadecimal 0x10", "POST", "/v1/invoices", inv(line("unit_price", "0x10")), 422, "validation_failed", "lines[0].unit_price"},
		{"decimal comma 1,5", "POST", "/v1/invoices", inv(line("quantity", "1,5")), 422, "validation_failed", "lines[0].quantity"},
		{"empty quantity", "POST", "/v1/invoices", inv(line("quantity", "")), 422, "validation_failed", "lines[0].quantity"},
		{"empty tax percentage", "POST", "/v1/tax-rates", map[string]any{"name": "T", "percentage": "", "category": "S"}, 422, "validation_failed", "percentage"},
		{"Infinity discount", "POST", "/v1/invoices", inv(line("discount_percent", "Infinity")), 422, "validation_failed", "lines[0].discount_percent"},
		{"2026-02-30 issue date", "POST", "/v1/invoices", map[string]any{"customer_id": fa.customer, "issue_date": "2026-02-30", "lines": []any{line()}}, 422, "validation_failed", "issue_date"},
		{"2026-02-30 payment date", "POST", "/v1/invoices/" + fa.open + "/payments", map[string]any{"amount": "1.00", "date": "2026-02-30"}, 422, "validation_failed", "date"},
		{"2026-02-30 in a filter", "GET", "/v1/invoices?issue_date_from=2026-02-30", nil, 400, "invalid_parameter", "issue_date_from"},
		{"another organization's customer", "POST", "/v1/invoices", map[string]any{"customer_id": fb.customer, "lines": []any{line()}}, 422, "validation_failed", "customer_id"},
		{"another organization's tax rate on a line", "POST", "/v1/invoices", inv(map[string]any{"description": "x", "quantity": "1", "unit_price": "1.00",
			"tax_rate_ids": []string{fb.taxRate}}), 422, "validation_failed", "lines[0].tax_rate_ids[0]"},
		{"another organization's tax rate on a product", "POST", "/v1/products", map[string]any{"name": "P", "unit_price": "1.00", "tax_rate_ids": []string{fb.taxRate}}, 422, "validation_failed", "tax_rate_ids[0]"},
		{"another organization's product on a line", "PATCH", "/v1/invoices/" + fa.draft, map[string]any{"lines": []any{map[string]any{"product_id": fb.product, "quantity": "1"}}}, 422, "validation_failed", "lines[0].product_id"},
		{"another organization's invoice for a credit note", "POST", "/v1/credit-notes", map[string]any{"invoice_id": fb.open, "reason": "x"}, 422, "validation_failed", "invoice_id"},
		{"unknown field", "POST", "/v1/customers", map[string]any{"name": "X", "nickname": "x"}, 422, "validation_failed", "nickname"},
		{"unknown field of a line", "POST", "/v1/invoices", inv(line("colour", "red")), 422, "validation_failed", "lines[0].colour"},
		{"field name in the wrong case", "POST", "/v1/customers", map[string]any{"Name": "X"}, 422, "validation_failed", "Name"},
		{"JSON number for a quantity", "POST", "/v1/invoices", inv(map[string]any{"description": "x", "quantity": 8, "unit_price": "1.00"}), 422, "validation_failed", "lines[0].quantity"},
		{"JSON number for a payment", "POST", "/v1/invoices/" + fa.open + "/payments", `{"amount": 10.5}`, 422, "validation_failed", "amount"},
		{"string for payment terms", "PATCH", "/v1/customers/" + fa.customer, map[string]any{"payment_terms_days": "30"}, 422, "validation_failed", "payment_terms_days"},
		{"null for a name", "PATCH", "/v1/customers/" + fa.customer, `{"name": null}`, 422, "validation_failed", "name"},
		{"a field given twice", "POST", "/v1/customers", `{"name": "X", "name": "Y"}`, 422, "validation_failed", "name"},
		{"NUL in a string", "POST", "/v1/customers", `{"name": "X\u0000Y"}`, 422, "validation_failed", "name"},
		{"malformed JSON", "POST", "/v1/customers", `{"name": "X",}`, 400, "malformed_json", ""},
		{"truncated JSON", "POST", "/v1/invoices", `{"customer_id": "` + fa.customer + `", "lines": [`, 400, "malformed_json", ""},
		{"two JSON values", "POST", "/v1/customers", `{"name": "X"} {"name": "Y"}`, 400, "malformed_json", ""},
		{"a JSON array", "POST", "/v1/tax-rates", `[]`, 400, "malformed_json", ""},
		{"an empty body", "POST", "/v1/customers", ``, 400, "malformed_json", ""},
		{"a body for an action", "POST", "/v1/invoices/" + fa.draft + "/finalize", `{"force": true}`, 422, "validation_failed", "force"},
		{"oversize body", "POST", "/v1/customers", huge, 413, "request_too_large", ""},
		{"limit 0", "GET", "/v1/customers?limit=0", nil, 400, "invalid_parameter", "limit"},
		{"limit 101", "GET", "/v1/invoices?limit=101", nil, 400, "invalid_parameter", "limit"},
		{"limit abc", "GET", "/v1/payments?limit=abc", nil, 400, "invalid_parameter", "limit"},
		{"a bad cursor", "GET", "/v1/products?starting_after=x", nil, 400, "invalid_parameter", "starting_after"},
		{"an unknown filter", "GET", "/v1/invoices?stauts=open", nil, 400, "invalid_parameter", "stauts"},
		{"an unknown status", "GET", "/v1/invoices?status=late", nil, 400, "invalid_parameter", "status"},
		{"a date range backwards", "GET", "/v1/payments?date_from=2026-05-01&date_to=2026-04-01", nil, 400, "invalid_parameter", "date_from"},
		{"an over-long Idempotency-Key", "POST", "/v1/customers", map[string]any{"name": "X"}, 400, "invalid_idempotency_key", "Idempotency-Key"},
		{"a scope that does not exist", "POST", "/v1/api-keys", map[string]any{"scopes": []string{"invoices:delete"}}, 422, "validation_failed", "scopes[0]"},
		{"an expiry in the past", "POST", "/v1/api-keys", map[string]any{"scopes": []string{"read"}, "expires_at": "2020-01-01T00:00:00Z"}, 422, "validation_failed", "expires_at"},
		{"an organization without a name", "PATCH", "/v1/organization", map[string]any{"name": " "}, 422, "validation_failed", "name"},
		{"an unknown time zone", "PATCH", "/v1/organization", map[string]any{"time_zone": "Mars/Olympus"}, 422, "validation_failed", "time_zone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []opt
			opts = append(opts, invalid)
			if strings.HasPrefix(c.name, "an over-long") {
				opts = append(opts, header("Idempotency-Key", strings.Repeat("k", 256)))
			}
			before := a.snapshot(t)
			r := a.do(c.method, c.path, c.body, opts...)
			p := r.problem(t)
			if r.status != c.status || p.Status != c.status || p.Code != c.code {
				t.Errorf("%v\nwant status %d code %s", r, c.status, c.code)
			}
			if c.field != "" && !slices.Contains(p.fields(), c.field) {
				t.Errorf("problem names %q, want %q: %s", p.fields(), c.field, r.body)
			}
			for _, fe := range p.Errors {
				if fe.Reason == "" {
					t.Errorf("field %s has no reason", fe.Field)
				}
			}
			if p.Detail == "" || p.RequestID == "" || p.RequestID != r.header.Get("X-Request-Id") {
				t.Errorf("problem lacks a detail or the request id: %s", r.body)
			}
			sameSnapshot(t, fmt.Sprintf("after %s", c.name), before, a.snapshot(t))
		})
	}
}
