package api

import (
	"fmt"
	"net/http"
	"slices"

	"bursar/internal/auth"
)

// route is one entry of the route table: a ServeMux pattern and the
// permission it needs, an API key scope's resource and whether it writes
// (DESIGN.md §7: every route declares its permission).
type route struct {
	method   string
	pattern  string
	resource string // one of auth.Resources, or anyone
	write    bool
	h        handlerFunc
}

// anyone is the resource of the routes that need no API key.
const anyone = "(public)"

// The access a route needs, for readable rows in the table.
const (
	read  = false
	write = true
)

// public reports whether the route is served without authentication.
func (rt route) public() bool { return rt.resource == anyone }

// permissioned reports whether the route's permission is one of the role
// matrix's and the API key scopes' resources (not public, sign-in or the
// caller's own sessions).
func (rt route) permissioned() bool {
	return rt.resource != anyone && rt.resource != signin && rt.resource != self && rt.resource != challenge
}

// check refuses a route whose permission is missing or does not fit its
// method: a route is read-only exactly when it is a GET.
func (rt route) check() error {
	switch {
	case rt.public() && (rt.method != http.MethodGet || rt.write):
		return fmt.Errorf("api: public route %s %s must be a read-only GET", rt.method, rt.pattern)
	case rt.resource == signin && rt.method != http.MethodPost:
		return fmt.Errorf("api: sign-in route %s %s must be a POST", rt.method, rt.pattern)
	case rt.resource == signin || rt.resource == self || rt.resource == challenge:
		if rt.h == nil {
			return fmt.Errorf("api: route %s %s has no handler", rt.method, rt.pattern)
		}
		return nil
	case !rt.public() && !slices.Contains(auth.Resources, rt.resource):
		return fmt.Errorf("api: route %s %s declares no permission (resource %q)", rt.method, rt.pattern, rt.resource)
	case rt.write != (rt.method != http.MethodGet):
		return fmt.Errorf("api: route %s %s: write is %v for a %s", rt.method, rt.pattern, rt.write, rt.method)
	case rt.h == nil:
		return fmt.Errorf("api: route %s %s has no handler", rt.method, rt.pattern)
	}
	return nil
}

// routeTable lists every route of the API with its permission. Nothing is
// registered on the mux but through this table.
func (a *api) routeTable() []route {
	const (
		GET, POST, PUT, PATCH, DELETE = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	)
	return []route{
		{GET, "/v1/openapi.json", anyone, read, a.getOpenAPI},

		{GET, "/v1/organization", "organization", read, a.getOrganization},
		{PATCH, "/v1/organization", "organization", write, a.updateOrganization},
		{GET, "/v1/organization/rate-limits", "organization", read, a.getRateLimits},
		{PUT, "/v1/organization/rate-limits", "organization", write, a.setRateLimits},
		{GET, "/v1/organization/oauth", "organization", read, a.getOAuthProvider},
		{PUT, "/v1/organization/oauth", "organization", write, a.putOAuthProvider},
		{DELETE, "/v1/organization/oauth", "organization", write, a.deleteOAuthProvider},
		{GET, "/v1/organization/sso", "organization", read, a.getSSO},
		{PUT, "/v1/organization/sso", "organization", write, a.putSSO},
		{DELETE, "/v1/organization/sso", "organization", write, a.deleteSSO},
		{GET, "/v1/organization/retention", "organization", read, a.getRetention},
		{PATCH, "/v1/organization/retention", "organization", write, a.setRetention},

		{POST, "/v1/customers", "customers", write, a.createCustomer},
		{GET, "/v1/customers", "customers", read, a.listCustomers},
		{GET, "/v1/customers/{id}", "customers", read, a.getCustomer},
		{PATCH, "/v1/customers/{id}", "customers", write, a.updateCustomer},
		{DELETE, "/v1/customers/{id}", "customers", write, a.deleteCustomer},
		{GET, "/v1/customers/{id}/export", "customers", read, a.exportCustomer},
		{POST, "/v1/customers/{id}/erase", "customers", write, a.eraseCustomer},

		{POST, "/v1/products", "products", write, a.createProduct},
		{GET, "/v1/products", "products", read, a.listProducts},
		{GET, "/v1/products/{id}", "products", read, a.getProduct},
		{PATCH, "/v1/products/{id}", "products", write, a.updateProduct},
		{DELETE, "/v1/products/{id}", "products", write, a.deleteProduct},

		{POST, "/v1/tax-rates", "tax-rates", write, a.createTaxRate},
		{GET, "/v1/tax-rates", "tax-rates", read, a.listTaxRates},
		{GET, "/v1/tax-rates/{id}", "tax-rates", read, a.getTaxRate},
		{PATCH, "/v1/tax-rates/{id}", "tax-rates", write, a.updateTaxRate},
		{DELETE, "/v1/tax-rates/{id}", "tax-rates", write, a.deleteTaxRate},

		{POST, "/v1/invoices", "invoices", write, a.createInvoice},
		{GET, "/v1/invoices", "invoices", read, a.listInvoices},
		{GET, "/v1/invoices/{id}", "invoices", read, a.getInvoice},
		{PATCH, "/v1/invoices/{id}", "invoices", write, a.updateInvoice},
		{DELETE, "/v1/invoices/{id}", "invoices", write, a.deleteInvoice},
		{POST, "/v1/invoices/{id}/finalize", "invoices", write, a.invoiceAction("invoice.finalized", a.Invoices.Finalize)},
		{POST, "/v1/invoices/{id}/void", "invoices", write, a.invoiceAction("invoice.voided", a.Invoices.Void)},
		{POST, "/v1/invoices/{id}/mark-uncollectible", "invoices", write, a.invoiceAction("invoice.marked_uncollectible", a.Invoices.MarkUncollectible)},
		{POST, "/v1/invoices/{id}/payments", "payments", write, a.createPayment},
		{GET, "/v1/invoices/{id}/payments", "payments", read, a.listInvoicePayments},

		{POST, "/v1/credit-notes", "credit-notes", write, a.createCreditNote},
		{GET, "/v1/credit-notes", "credit-notes", read, a.listCreditNotes},
		{GET, "/v1/credit-notes/{id}", "credit-notes", read, a.getCreditNote},

		{GET, "/v1/payments", "payments", read, a.listPayments},
		{GET, "/v1/payments/{id}", "payments", read, a.getPayment},

		{POST, "/v1/api-keys", "api-keys", write, a.createAPIKey},
		{GET, "/v1/api-keys", "api-keys", read, a.listAPIKeys},
		{GET, "/v1/api-keys/{id}", "api-keys", read, a.getAPIKey},
		{POST, "/v1/api-keys/{id}/revoke", "api-keys", write, a.revokeAPIKey},

		{GET, "/v1/audit-events", "audit", read, a.listAuditEvents},
		{GET, "/v1/audit/checkpoint", "audit", read, a.getAuditCheckpoint},

		{GET, "/v1/ip-rules", "ip-rules", read, a.listIPRules},
		{POST, "/v1/ip-rules", "ip-rules", write, a.createIPRule},
		{DELETE, "/v1/ip-rules/{id}", "ip-rules", write, a.deleteIPRule},
	}
}
