// Package storetest is the suite every store passes: the same tests, run
// against SQLite and PostgreSQL, prove that both keep every field exactly,
// keep organizations apart, page and filter lists alike, lock and number
// documents without gaps, and run transactions as the contracts say.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"bursar/internal/customer"
	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/money"
	"bursar/internal/org"
	"bursar/internal/party"
	"bursar/internal/store/sqlstore"
)

// Run runs the suite. open returns a new, migrated, empty store and
// arranges for it to be closed when the test ends; Run calls it once for
// the suite and again for the few tests that need a store of their own.
func Run(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
	st := open(t)
	tests := []struct {
		name string
		fn   func(t *testing.T, st *sqlstore.Store)
	}{
		{"Organizations", testOrganizations},
		{"Customers", testCustomers},
		{"CustomerCredit", testCustomerCredit},
		{"Parties", testParties},
		{"DeleteCustomer", testDeleteCustomer},
		{"Products", testProducts},
		{"TaxRates", testTaxRates},
		{"InvoiceRoundTrip", testInvoiceRoundTrip},
		{"InvoiceMinorUnits", testInvoiceMinorUnits},
		{"InvoiceUpdate", testInvoiceUpdate},
		{"InvoiceNumbersUnique", testInvoiceNumbersUnique},
		{"InvoiceDelete", testInvoiceDelete},
		{"InvoiceList", testInvoiceList},
		{"CreditNotes", testCreditNotes},
		{"Payments", testPayments},
		{"NextNumber", testNextNumber},
		{"InTxRollback", testInTxRollback},
		{"InTxNested", testInTxNested},
		{"Idempotency", testIdempotency},
		{"Users", testUsers},
		{"APIKeys", testAPIKeys},
		{"Members", testMembers},
		{"Invitations", testInvitations},
		{"Sessions", testSessions},
		{"Throttle", testThrottle},
		{"TenantIsolation", testTenantIsolation},
		{"NextNumberConcurrent", testNextNumberConcurrent},
		{"InvoiceVersionsConcurrent", testInvoiceVersionsConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, st)
		})
	}
	t.Run("Migrations", func(t *testing.T) {
		t.Parallel()
		testMigrations(t, open(t))
	})
}

var ctx = context.Background()

// at is a time with nanoseconds in a zone other than UTC: the store keeps
// it as UTC with microseconds.
var at = time.Date(2026, 11, 22, 13, 4, 5, 123456789, time.FixedZone("CET", 3600))

// stored is at as the store keeps it.
var stored = time.Date(2026, 11, 22, 12, 4, 5, 123456000, time.UTC)

func ptr[T any](v T) *T { return &v }

func dec(s string) money.Decimal { return money.MustParse(s) }

// newID returns a fresh identifier.
func newID(prefix string) string { return ident.New(prefix, time.Now()) }

// wantErr fails unless err has the kind and, if not empty, the code.
func wantErr(t *testing.T, err error, kind errs.Kind, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want kind %d code %q", kind, code)
	}
	if errs.KindOf(err) != kind || (code != "" && errs.CodeOf(err) != code) {
		t.Fatalf("err = %v (kind %d, code %q), want kind %d code %q", err, errs.KindOf(err), errs.CodeOf(err), kind, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sameJSON fails unless got and want marshal alike: every exported field,
// decimals with their scale, times to the microsecond.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	must(t, err)
	w, err := json.Marshal(want)
	must(t, err)
	if string(g) != string(w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

var address = party.Address{Line1: "1 Rue de la Paix", Line2: "Bât. B", City: "Paris", PostalCode: "75002", Region: "IDF", Country: "FR"}

// newOrg stores a new organization.
func newOrg(t *testing.T, st *sqlstore.Store) *org.Organization {
	t.Helper()
	o := &org.Organization{ID: newID("org"), Name: "Acme GmbH", Email: "billing@acme.example", Address: address,
		VATID: "DE123456789", TaxID: "12/345/67890", DefaultCurrency: "EUR", TimeZone: "Europe/Berlin", Locale: "de-DE",
		InvoiceSeries: org.DefaultInvoiceSeries, CreditNoteSeries: org.DefaultCreditNoteSeries, CreatedAt: at, UpdatedAt: at}
	must(t, st.InsertOrganization(ctx, o))
	return o
}

// newCustomer stores a new customer of the organization.
func newCustomer(t *testing.T, st *sqlstore.Store, orgID string) *customer.Customer {
	t.Helper()
	c := &customer.Customer{ID: newID("cus"), OrgID: orgID, Name: "Globex SARL", Email: "ap@globex.example",
		CCEmails: []string{"cfo@globex.example", "audit@globex.example"}, Address: address, TaxID: "FR40303265045",
		Currency: "EUR", PaymentTermsDays: 14, Locale: "fr-FR", Notes: "Net 14, please quote the PO.",
		CreatedAt: at, UpdatedAt: at}
	must(t, st.InsertCustomer(ctx, c))
	return c
}

func testOrganizations(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	if !o.CreatedAt.Equal(stored) || o.CreatedAt.Location() != time.UTC {
		t.Fatalf("after insert CreatedAt = %v, want %v: the store sets times to what it keeps", o.CreatedAt, stored)
	}
	got, err := st.GetOrganization(ctx, o.ID)
	must(t, err)
	sameJSON(t, "organization", got, o)

	o.Name, o.Address.City, o.InvoiceSeries, o.UpdatedAt = "Acme AG", "Zürich", "A-{YY}-{SEQ:4}", at.Add(time.Hour)
	must(t, st.UpdateOrganization(ctx, o))
	got, err = st.GetOrganization(ctx, o.ID)
	must(t, err)
	sameJSON(t, "updated organization", got, o)

	_, err = st.GetOrganization(ctx, newID("org"))
	wantErr(t, err, errs.NotFound, "not_found")
	missing := *o
	missing.ID = newID("org")
	wantErr(t, st.UpdateOrganization(ctx, &missing), errs.NotFound, "not_found")
	wantErr(t, st.InsertOrganization(ctx, o), errs.Conflict, "already_exists")
}

func testCustomers(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	got, err := st.GetCustomer(ctx, o.ID, c.ID)
	must(t, err)
	sameJSON(t, "customer", got, c)
	if got.OrgID != o.ID || got.CreditBalance != 0 {
		t.Fatalf("OrgID, CreditBalance = %q, %d; want %q, 0", got.OrgID, got.CreditBalance, o.ID)
	}

	c.Name, c.CCEmails, c.Currency, c.PaymentTermsDays, c.UpdatedAt = "Globex SA", nil, "CHF", 0, at.Add(time.Minute)
	must(t, st.UpdateCustomer(ctx, c))
	got, err = st.GetCustomer(ctx, o.ID, c.ID)
	must(t, err)
	sameJSON(t, "updated customer", got, c)

	// Pages, newest first, and the email filter.
	ids := []string{c.ID}
	for range 4 {
		ids = append(ids, newCustomer(t, st, o.ID).ID)
	}
	other := &customer.Customer{ID: newID("cus"), OrgID: o.ID, Name: "Initech", Email: "pay@initech.example", Currency: "USD",
		CreatedAt: at, UpdatedAt: at}
	must(t, st.InsertCustomer(ctx, other))
	ids = append(ids, other.ID)
	var pageIDs []string
	f := customer.Filter{}
	f.Limit = 4
	for {
		cs, err := st.ListCustomers(ctx, o.ID, f)
		must(t, err)
		for _, c := range cs {
			pageIDs = append(pageIDs, c.ID)
		}
		if len(cs) < f.Limit {
			break
		}
		f.StartingAfter = cs[len(cs)-1].ID
	}
	wantIDs(t, "customer pages", pageIDs, ids)
	cs, err := st.ListCustomers(ctx, o.ID, customer.Filter{Email: "pay@initech.example"})
	must(t, err)
	if len(cs) != 1 || cs[0].ID != other.ID || cs[0].CCEmails != nil {
		t.Fatalf("customers by email = %v, want only %s with no cc", cs, other.ID)
	}
}

func testCustomerCredit(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	balance := func() int64 {
		t.Helper()
		got, err := st.GetCustomer(ctx, o.ID, c.ID)
		must(t, err)
		return got.CreditBalance
	}
	must(t, st.AddCustomerCredit(ctx, o.ID, c.ID, 500))
	must(t, st.AddCustomerCredit(ctx, o.ID, c.ID, -200))
	if got := balance(); got != 300 {
		t.Fatalf("balance = %d, want 300", got)
	}
	wantErr(t, st.AddCustomerCredit(ctx, o.ID, c.ID, -301), errs.Conflict, "")
	must(t, st.AddCustomerCredit(ctx, o.ID, c.ID, -300))
	if got := balance(); got != 0 {
		t.Fatalf("balance = %d, want 0: the balance may reach zero, never less", got)
	}
	wantErr(t, st.AddCustomerCredit(ctx, o.ID, c.ID, -1), errs.Conflict, "")
	wantErr(t, st.AddCustomerCredit(ctx, o.ID, newID("cus"), 1), errs.NotFound, "not_found")

	// An update from a copy read before a credit keeps the credit.
	stale, err := st.GetCustomer(ctx, o.ID, c.ID)
	must(t, err)
	must(t, st.AddCustomerCredit(ctx, o.ID, c.ID, 70))
	stale.Notes = "changed"
	must(t, st.UpdateCustomer(ctx, stale))
	if got := balance(); got != 70 {
		t.Fatalf("balance after an update from a stale copy = %d, want 70", got)
	}
}

func testDeleteCustomer(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	used := newCustomer(t, st, o.ID)
	must(t, st.InsertInvoice(ctx, draft(o, used)))
	wantErr(t, st.DeleteCustomer(ctx, o.ID, used.ID), errs.Conflict, "customer_in_use")
	if _, err := st.GetCustomer(ctx, o.ID, used.ID); err != nil {
		t.Fatalf("customer in use after a refused delete: %v", err)
	}
	must(t, st.DeleteCustomer(ctx, o.ID, c.ID))
	_, err := st.GetCustomer(ctx, o.ID, c.ID)
	wantErr(t, err, errs.NotFound, "not_found")
	wantErr(t, st.DeleteCustomer(ctx, o.ID, c.ID), errs.NotFound, "not_found")
}

// wantIDs fails unless got lists the ids of want, newest (greatest) first.
func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	w := sortedDesc(want)
	if fmt.Sprint(got) != fmt.Sprint(w) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, w)
	}
}

func sortedDesc(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// floatTypes are the SQL types of inexact (or, for NUMERIC, needlessly
// general) numbers, which Bursar's schema never uses.
var floatTypes = regexp.MustCompile(`(?i)\b(REAL|FLOAT\d*|DOUBLE|NUMERIC|DECIMAL|MONEY)\b`)

// NoFloatingPoint fails if a migration in fsys (*.sql at its root) names a
// floating point type outside a comment.
func NoFloatingPoint(t *testing.T, fsys fs.FS) {
	t.Helper()
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		must(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			if code, _, _ := strings.Cut(line, "--"); floatTypes.MatchString(code) {
				t.Errorf("%s: floating point type in %q", f, line)
			}
		}
	}
}
