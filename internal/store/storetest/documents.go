package storetest

import (
	"testing"
	"time"

	"bursar/internal/civil"
	"bursar/internal/customer"
	"bursar/internal/errs"
	"bursar/internal/invoice"
	"bursar/internal/money"
	"bursar/internal/org"
	"bursar/internal/page"
	"bursar/internal/store/sqlstore"
)

func date(s string) civil.Date {
	d, err := civil.Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// totals returns totals in which every amount is v, at the currency's scale.
func totals(v string) invoice.Totals {
	d := dec(v)
	return invoice.Totals{LinesNet: d, Allowances: d, Charges: d, TaxExclusive: d, Tax: d, TaxInclusive: d, Paid: d, Rounding: d, Due: d}
}

// draft returns a minimal draft invoice of the customer, not stored.
func draft(o *org.Organization, c *customer.Customer) *invoice.Invoice {
	inv := &invoice.Invoice{ID: newID("inv"), OrgID: o.ID, Status: invoice.StatusDraft, CustomerID: c.ID,
		Buyer: invoice.Buyer{CustomerID: c.ID, Name: c.Name}, CreatedAt: at, UpdatedAt: at,
		AmountPaid: dec("0.00"), AmountCredited: dec("0.00"), CreditApplied: dec("0.00")}
	inv.Document = invoice.Document{Currency: "EUR", Lines: []invoice.Line{{Description: "x", Quantity: dec("1"), Unit: "C62",
		UnitPrice: dec("10.00"), Gross: dec("10.00"), Net: dec("10.00")}}, Totals: totals("0.00")}
	return inv
}

// fullDocument sets every field a document has, with decimals of several
// scales, a nil and an empty list, and unusual text.
func fullDocument() invoice.Document {
	vat := invoice.Tax{TaxRateID: newID("txr"), Name: "VAT 19%", Category: "S", Percentage: dec("19")}
	exempt := invoice.Tax{TaxRateID: newID("txr"), Name: "Exempt", Category: "E", Percentage: dec("0.00"),
		ExemptionReason: "Article 132 Directive 2006/112/EC", ExemptionReasonCode: "VATEX-EU-132"}
	return invoice.Document{
		Currency:         "EUR",
		PricesIncludeTax: true,
		Lines: []invoice.Line{
			{ProductID: newID("prod"), Description: "Consulting — “senior”\nper hour", Quantity: dec("1.500"), Unit: "HUR",
				UnitPrice: dec("0.83"), BaseQuantity: dec("1"), DiscountPercent: dec("12.5"), DiscountAmount: money.Zero,
				Taxes: []invoice.Tax{vat}, Gross: dec("1.09"), Discount: dec("0.16"), Net: dec("0.93")},
			{Description: "Untaxed", Quantity: dec("-2"), Unit: "C62", UnitPrice: dec("0.000000000001"),
				BaseQuantity: money.Zero, DiscountPercent: money.Zero, DiscountAmount: dec("0.01"), Taxes: nil,
				Gross: dec("0.00"), Discount: dec("0.01"), Net: dec("-0.01")},
			{Description: "Exempt", Quantity: dec("3"), Unit: "KWH", UnitPrice: dec("100"), Taxes: []invoice.Tax{exempt},
				Gross: dec("300.00"), Discount: dec("0.00"), Net: dec("300.00")},
			{Description: "Empty taxes", Quantity: dec("1"), Unit: "C62", UnitPrice: dec("1"), Taxes: []invoice.Tax{}},
		},
		Allowances: []invoice.AllowanceCharge{{Percent: dec("2.5"), Reason: "Early payment", Tax: &vat, Base: dec("0.93"), Net: dec("0.02")}},
		Charges:    []invoice.AllowanceCharge{{Amount: dec("5"), Reason: "Shipping", Tax: nil, Base: money.Zero, Net: dec("5.00")}},
		Totals: invoice.Totals{LinesNet: dec("300.92"), Allowances: dec("0.02"), Charges: dec("5.00"), TaxExclusive: dec("305.90"),
			Tax: dec("0.17"), TaxInclusive: dec("306.07"), Paid: dec("15.83"), Rounding: dec("-0.01"), Due: dec("290.23")},
		Taxes: []invoice.TaxSubtotal{
			{Category: "S", Percentage: dec("19"), Taxable: dec("0.91"), Tax: dec("0.17")},
			{Category: "E", Percentage: dec("0.00"), Taxable: dec("300.00"), Tax: dec("0.00"),
				ExemptionReason: exempt.ExemptionReason, ExemptionReasonCode: exempt.ExemptionReasonCode},
		},
	}
}

var seller = invoice.Seller{Name: "Acme GmbH", Address: address, VATID: "DE123456789", TaxID: "12/345/67890"}

// fullInvoice returns an invoice with every field set, not stored.
func fullInvoice(o *org.Organization, c *customer.Customer) *invoice.Invoice {
	later := at.Add(36 * time.Hour)
	return &invoice.Invoice{ID: newID("inv"), OrgID: o.ID, Number: "INV-2026-00001", Status: invoice.StatusOpen, CustomerID: c.ID,
		Buyer: invoice.Buyer{CustomerID: c.ID, Name: c.Name, Email: c.Email, Address: c.Address, TaxID: c.TaxID}, Seller: seller,
		IssueDate: date("2026-11-22"), DueDate: date("2026-12-06"), PaymentTermsDays: ptr(14), BuyerReference: "BR-7",
		PurchaseOrder: "PO 4711", Notes: "Thank you — merci — 谢谢 'quoted' \"double\" ? $1", Footer: "Acme GmbH · HRB 1234",
		Document: fullDocument(), AmountPaid: dec("10.00"), AmountCredited: dec("5.00"), CreditApplied: dec("0.83"),
		ContentHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Version: 3,
		FinalizedAt: ptr(at), VoidedAt: &later, CreatedAt: at, UpdatedAt: later}
}

func testInvoiceRoundTrip(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	inv := fullInvoice(o, c)
	hash, err := invoice.ContentHashOf(inv)
	must(t, err)
	must(t, st.InsertInvoice(ctx, inv))
	if !inv.FinalizedAt.Equal(stored) || inv.CreatedAt.Location() != time.UTC {
		t.Fatalf("after insert FinalizedAt = %v, want %v", inv.FinalizedAt, stored)
	}
	for _, forUpdate := range []bool{false, true} {
		got, err := st.GetInvoice(ctx, o.ID, inv.ID, forUpdate)
		must(t, err)
		sameJSON(t, "invoice", got, inv)
		if got.OrgID != o.ID || got.Version != 3 {
			t.Fatalf("OrgID, Version = %q, %d; want %q, 3", got.OrgID, got.Version, o.ID)
		}
		if got.Lines[1].Taxes != nil || got.Lines[3].Taxes == nil || got.Charges[0].Tax != nil {
			t.Fatal("nil and empty lists must come back as they were: the content hash tells them apart")
		}
		if h, err := invoice.ContentHashOf(got); err != nil || h != hash {
			t.Fatalf("content hash after storage = %s (%v), want %s", h, err, hash)
		}
	}

	// A draft: no number, no dates, no payment terms, no times.
	d := draft(o, c)
	must(t, st.InsertInvoice(ctx, d))
	got, err := st.GetInvoice(ctx, o.ID, d.ID, false)
	must(t, err)
	sameJSON(t, "draft", got, d)
	if got.PaymentTermsDays != nil || !got.IssueDate.IsZero() || got.FinalizedAt != nil {
		t.Fatalf("draft came back with terms %v, issue date %v, finalized %v; want none", got.PaymentTermsDays, got.IssueDate, got.FinalizedAt)
	}

	_, err = st.GetInvoice(ctx, o.ID, newID("inv"), false)
	wantErr(t, err, errs.NotFound, "not_found")
}

func testInvoiceMinorUnits(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	for _, tc := range []struct {
		cur   money.Currency
		total string
		minor int64
	}{{"KWD", "1.234", 1234}, {"JPY", "1200", 1200}, {"EUR", "-0.05", -5}, {"EUR", "9999999999999.99", 999999999999999}} {
		inv := draft(o, c)
		inv.Currency, inv.Totals = tc.cur, totals(tc.total)
		zero := tc.cur.Amount(0)
		inv.AmountPaid, inv.AmountCredited, inv.CreditApplied = zero, zero, zero
		must(t, st.InsertInvoice(ctx, inv))
		got, err := st.GetInvoice(ctx, o.ID, inv.ID, false)
		must(t, err)
		sameJSON(t, string(tc.cur)+" totals", got.Totals, inv.Totals)
		// Totals are integer columns, to be summed and compared in SQL.
		var minor int64
		must(t, st.DB().QueryRow("SELECT total_tax_inclusive FROM invoices WHERE id = '"+inv.ID+"'").Scan(&minor))
		if minor != tc.minor {
			t.Fatalf("%s %s stored as %d minor units, want %d", tc.cur, tc.total, minor, tc.minor)
		}
	}
	// The store never rounds: an amount finer than the currency is refused.
	inv := draft(o, c)
	inv.Totals.Due = dec("1.234")
	if err := st.InsertInvoice(ctx, inv); err == nil {
		t.Fatal("an EUR total of 1.234 was stored; want an error")
	}
	if _, err := st.GetInvoice(ctx, o.ID, inv.ID, false); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("refused invoice: get err = %v, want not found", err)
	}
}

func testInvoiceUpdate(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	inv := fullInvoice(o, c)
	inv.Version = 0
	must(t, st.InsertInvoice(ctx, inv))
	stale, err := st.GetInvoice(ctx, o.ID, inv.ID, false)
	must(t, err)

	inv.Lines = inv.Lines[:1]
	inv.Status, inv.Number, inv.PaidAt, inv.VoidedAt = invoice.StatusPaid, "INV-2026-00002", ptr(at), nil
	inv.AmountPaid, inv.Totals.Due = dec("290.23"), dec("0.00")
	must(t, st.UpdateInvoice(ctx, inv))
	if inv.Version != 1 {
		t.Fatalf("version after update = %d, want 1", inv.Version)
	}
	if v, err := st.InvoiceVersion(ctx, o.ID, inv.ID); err != nil || v != 1 {
		t.Fatalf("InvoiceVersion after update = %d, %v; want 1", v, err)
	}
	got, err := st.GetInvoice(ctx, o.ID, inv.ID, false)
	must(t, err)
	sameJSON(t, "updated invoice", got, inv)
	if got.Version != 1 {
		t.Fatalf("stored version = %d, want 1", got.Version)
	}

	stale.Notes = "lost update"
	wantErr(t, st.UpdateInvoice(ctx, stale), errs.Conflict, "version_conflict")
	if stale.Version != 0 {
		t.Fatalf("a refused update changed the version to %d", stale.Version)
	}
	got, err = st.GetInvoice(ctx, o.ID, inv.ID, false)
	must(t, err)
	if got.Notes == "lost update" {
		t.Fatal("a stale update was stored")
	}
	if v, err := st.InvoiceVersion(ctx, o.ID, inv.ID); err != nil || v != 1 {
		t.Fatalf("InvoiceVersion after a refused update = %d, %v; want 1", v, err)
	}
	missing := draft(o, c)
	wantErr(t, st.UpdateInvoice(ctx, missing), errs.NotFound, "not_found")
	_, err = st.InvoiceVersion(ctx, o.ID, missing.ID)
	wantErr(t, err, errs.NotFound, "not_found")
}

func testInvoiceNumbersUnique(t *testing.T, st *sqlstore.Store) {
	o, o2 := newOrg(t, st), newOrg(t, st)
	c, c2 := newCustomer(t, st, o.ID), newCustomer(t, st, o2.ID)
	must(t, st.InsertInvoice(ctx, draft(o, c)))
	must(t, st.InsertInvoice(ctx, draft(o, c))) // drafts share the empty number
	a := draft(o, c)
	a.Number, a.Status = "INV-1", invoice.StatusOpen
	must(t, st.InsertInvoice(ctx, a))
	b := draft(o, c)
	b.Number, b.Status = "INV-1", invoice.StatusOpen
	wantErr(t, st.InsertInvoice(ctx, b), errs.Conflict, "already_exists")
	b.Number = "INV-2"
	must(t, st.InsertInvoice(ctx, b))
	b.Number = "INV-1"
	wantErr(t, st.UpdateInvoice(ctx, b), errs.Conflict, "already_exists")
	other := draft(o2, c2)
	other.Number, other.Status = "INV-1", invoice.StatusOpen
	must(t, st.InsertInvoice(ctx, other)) // numbers are per organization
	wantErr(t, st.InsertInvoice(ctx, a), errs.Conflict, "already_exists")
}

func testInvoiceDelete(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	d := draft(o, c)
	must(t, st.InsertInvoice(ctx, d))
	must(t, st.DeleteInvoice(ctx, o.ID, d.ID))
	_, err := st.GetInvoice(ctx, o.ID, d.ID, false)
	wantErr(t, err, errs.NotFound, "not_found")
	wantErr(t, st.DeleteInvoice(ctx, o.ID, d.ID), errs.NotFound, "not_found")

	paid := fullInvoice(o, c)
	must(t, st.InsertInvoice(ctx, paid))
	must(t, st.InsertPayment(ctx, payment(paid, "2026-11-23")))
	wantErr(t, st.DeleteInvoice(ctx, o.ID, paid.ID), errs.Conflict, "invoice_in_use")
}

func testInvoiceList(t *testing.T, st *sqlstore.Store) {
	o, o2 := newOrg(t, st), newOrg(t, st)
	c1, c2 := newCustomer(t, st, o.ID), newCustomer(t, st, o.ID)
	statuses := []invoice.Status{invoice.StatusDraft, invoice.StatusOpen, invoice.StatusPaid, invoice.StatusOpen,
		invoice.StatusVoid, invoice.StatusOpen, invoice.StatusDraft}
	ids := make([]string, len(statuses))
	for i, s := range statuses {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		inv := draft(o, c)
		inv.Status = s
		if s != invoice.StatusDraft {
			inv.Number = "INV-" + string(rune('A'+i))
			inv.IssueDate = date("2026-11-10").AddDays(i)
		}
		must(t, st.InsertInvoice(ctx, inv))
		ids[i] = inv.ID
	}
	c3 := newCustomer(t, st, o2.ID)
	must(t, st.InsertInvoice(ctx, draft(o2, c3)))

	pick := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, ids[i])
		}
		return out
	}
	list := func(f invoice.Filter) []string {
		t.Helper()
		var got []string
		for {
			invs, err := st.ListInvoices(ctx, o.ID, f)
			must(t, err)
			for _, inv := range invs {
				got = append(got, inv.ID)
			}
			if len(invs) < f.Size() {
				return got
			}
			f.StartingAfter = invs[len(invs)-1].ID
		}
	}
	for _, tc := range []struct {
		name string
		f    invoice.Filter
		want []string
	}{
		{"all, pages of 3", invoice.Filter{Params: pageOf(3)}, ids},
		{"all, default page", invoice.Filter{}, ids},
		{"open", invoice.Filter{Status: invoice.StatusOpen}, pick(1, 3, 5)},
		{"customer", invoice.Filter{CustomerID: c2.ID, Params: pageOf(1)}, pick(1, 3, 5)},
		{"dates", invoice.Filter{From: date("2026-11-12"), To: date("2026-11-14")}, pick(2, 3, 4)},
		{"from", invoice.Filter{From: date("2026-11-14")}, pick(4, 5)},
		{"open, customer, from", invoice.Filter{Status: invoice.StatusOpen, CustomerID: c2.ID, From: date("2026-11-13")}, pick(3, 5)},
		{"unknown customer", invoice.Filter{CustomerID: c3.ID}, nil},
	} {
		wantIDs(t, tc.name, list(tc.f), tc.want)
	}
	// A page ends exactly at the limit, and continues strictly after the cursor.
	first, err := st.ListInvoices(ctx, o.ID, invoice.Filter{Params: pageOf(2)})
	must(t, err)
	if len(first) != 2 {
		t.Fatalf("page of 2 has %d invoices", len(first))
	}
	sorted := sortedDesc(ids)
	next, err := st.ListInvoices(ctx, o.ID, invoice.Filter{Params: page.Params{Limit: 2, StartingAfter: sorted[1]}})
	must(t, err)
	if len(next) != 2 || next[0].ID != sorted[2] {
		t.Fatalf("page after %s starts at %v, want %s", sorted[1], next, sorted[2])
	}
}

func pageOf(n int) page.Params { return page.Params{Limit: n} }

// payment returns a payment of the whole invoice on the date, not stored.
func payment(inv *invoice.Invoice, day string) *invoice.Payment {
	return &invoice.Payment{ID: newID("pay"), OrgID: inv.OrgID, InvoiceID: inv.ID, CustomerID: inv.CustomerID,
		Amount: dec("119.00"), Currency: inv.Currency, Date: date(day), Method: "bank_transfer", Reference: "SEPA 2026-11/42",
		AppliedToInvoice: dec("100.00"), CreditedToCustomer: dec("19.00"), CreatedAt: at}
}

func creditNote(inv *invoice.Invoice, number string) *invoice.CreditNote {
	return &invoice.CreditNote{ID: newID("cn"), OrgID: inv.OrgID, Number: number, InvoiceID: inv.ID, Buyer: inv.Buyer,
		Seller: seller, IssueDate: date("2026-11-24"), Reason: "Returned goods", Document: fullDocument(),
		AppliedToInvoice: dec("300.00"), CreditedToCustomer: dec("6.07"),
		ContentHash: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", CreatedAt: at}
}

func testCreditNotes(t *testing.T, st *sqlstore.Store) {
	o, o2 := newOrg(t, st), newOrg(t, st)
	c, c2 := newCustomer(t, st, o.ID), newCustomer(t, st, o.ID)
	inv, inv2 := fullInvoice(o, c), fullInvoice(o, c2)
	inv2.Number = "INV-2026-00002"
	must(t, st.InsertInvoice(ctx, inv))
	must(t, st.InsertInvoice(ctx, inv2))
	cn := creditNote(inv, "CN-2026-00001")
	must(t, st.InsertCreditNote(ctx, cn))
	got, err := st.GetCreditNote(ctx, o.ID, cn.ID)
	must(t, err)
	sameJSON(t, "credit note", got, cn)
	if got.OrgID != o.ID {
		t.Fatalf("OrgID = %q, want %q", got.OrgID, o.ID)
	}
	cn2 := creditNote(inv2, "CN-2026-00002")
	cn2.IssueDate = date("2026-11-30")
	must(t, st.InsertCreditNote(ctx, cn2))
	cn3 := creditNote(inv, "CN-2026-00003")
	must(t, st.InsertCreditNote(ctx, cn3))

	for _, tc := range []struct {
		name string
		f    invoice.Filter
		want []string
	}{
		{"all", invoice.Filter{}, []string{cn.ID, cn2.ID, cn3.ID}},
		{"invoice", invoice.Filter{InvoiceID: inv.ID}, []string{cn.ID, cn3.ID}},
		{"customer", invoice.Filter{CustomerID: c2.ID}, []string{cn2.ID}},
		{"dates", invoice.Filter{From: date("2026-11-25"), To: date("2026-12-31")}, []string{cn2.ID}},
		{"status", invoice.Filter{Status: invoice.StatusOpen}, nil},
	} {
		cns, err := st.ListCreditNotes(ctx, o.ID, tc.f)
		must(t, err)
		var ids []string
		for _, cn := range cns {
			ids = append(ids, cn.ID)
		}
		wantIDs(t, "credit notes "+tc.name, ids, tc.want)
	}

	dup := creditNote(inv, "CN-2026-00001")
	wantErr(t, st.InsertCreditNote(ctx, dup), errs.Conflict, "already_exists")
	_, err = st.GetCreditNote(ctx, o.ID, dup.ID)
	wantErr(t, err, errs.NotFound, "not_found")
	// A credit note cannot refer to an invoice of another organization.
	foreign := creditNote(inv, "CN-X")
	foreign.OrgID = o2.ID
	wantErr(t, st.InsertCreditNote(ctx, foreign), errs.Conflict, "invalid_reference")
}

func testPayments(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	inv, inv2 := fullInvoice(o, c), fullInvoice(o, c)
	inv2.Number = "INV-2026-00002"
	must(t, st.InsertInvoice(ctx, inv))
	must(t, st.InsertInvoice(ctx, inv2))
	p := payment(inv, "2026-11-23")
	must(t, st.InsertPayment(ctx, p))
	got, err := st.GetPayment(ctx, o.ID, p.ID)
	must(t, err)
	sameJSON(t, "payment", got, p)
	if got.OrgID != o.ID {
		t.Fatalf("OrgID = %q, want %q", got.OrgID, o.ID)
	}
	p2 := payment(inv2, "2026-12-01")
	must(t, st.InsertPayment(ctx, p2))
	jpy := payment(inv, "2026-12-02")
	jpy.Currency, jpy.Amount, jpy.AppliedToInvoice, jpy.CreditedToCustomer = "JPY", dec("5000"), dec("5000"), dec("0")
	must(t, st.InsertPayment(ctx, jpy))
	got, err = st.GetPayment(ctx, o.ID, jpy.ID)
	must(t, err)
	sameJSON(t, "JPY payment", got, jpy)

	for _, tc := range []struct {
		name string
		f    invoice.Filter
		want []string
	}{
		{"all", invoice.Filter{}, []string{p.ID, p2.ID, jpy.ID}},
		{"invoice", invoice.Filter{InvoiceID: inv.ID}, []string{p.ID, jpy.ID}},
		{"customer", invoice.Filter{CustomerID: c.ID, Params: pageOf(1)}, []string{p.ID, p2.ID, jpy.ID}},
		{"dates", invoice.Filter{From: date("2026-11-24"), To: date("2026-12-01")}, []string{p2.ID}},
		{"status", invoice.Filter{Status: invoice.StatusPaid}, nil},
	} {
		var ids []string
		f := tc.f
		for {
			ps, err := st.ListPayments(ctx, o.ID, f)
			must(t, err)
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			if len(ps) < f.Size() {
				break
			}
			f.StartingAfter = ps[len(ps)-1].ID
		}
		wantIDs(t, "payments "+tc.name, ids, tc.want)
	}

	odd := payment(inv, "2026-11-23")
	odd.Amount = dec("1.005")
	if err := st.InsertPayment(ctx, odd); err == nil {
		t.Fatal("a payment of EUR 1.005 was stored; want an error")
	}
	_, err = st.GetPayment(ctx, o.ID, newID("pay"))
	wantErr(t, err, errs.NotFound, "not_found")
}
