package storetest

import (
	"testing"
	"time"

	"bursar/internal/catalog"
	"bursar/internal/errs"
	"bursar/internal/page"
	"bursar/internal/store/sqlstore"
)

func newTaxRate(t *testing.T, st *sqlstore.Store, orgID string) *catalog.TaxRate {
	t.Helper()
	r := &catalog.TaxRate{ID: newID("txr"), OrgID: orgID, Name: "QST", Percentage: dec("9.975"), Category: "S",
		Country: "CA", Active: true, CreatedAt: at, UpdatedAt: at}
	must(t, st.InsertTaxRate(ctx, r))
	return r
}

func newProduct(t *testing.T, st *sqlstore.Store, orgID string, taxRateIDs ...string) *catalog.Product {
	t.Helper()
	p := &catalog.Product{ID: newID("prod"), OrgID: orgID, Name: "Consulting", Description: "Senior consultant, per hour",
		Unit: "HUR", UnitPrice: dec("0.83"), Currency: "EUR", TaxRateIDs: taxRateIDs, Active: true, CreatedAt: at, UpdatedAt: at}
	must(t, st.InsertProduct(ctx, p))
	return p
}

func testProducts(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	r := newTaxRate(t, st, o.ID)
	p := newProduct(t, st, o.ID, r.ID)
	got, err := st.GetProduct(ctx, o.ID, p.ID)
	must(t, err)
	sameJSON(t, "product", got, p)
	if got.UnitPrice.String() != "0.83" || got.OrgID != o.ID {
		t.Fatalf("unit price, org = %s, %s; want 0.83, %s", got.UnitPrice, got.OrgID, o.ID)
	}

	p.UnitPrice, p.Active, p.TaxRateIDs, p.UpdatedAt = dec("1250.5000"), false, []string{}, at.Add(time.Second)
	must(t, st.UpdateProduct(ctx, p))
	got, err = st.GetProduct(ctx, o.ID, p.ID)
	must(t, err)
	sameJSON(t, "updated product", got, p)

	ids := []string{p.ID}
	for range 2 {
		ids = append(ids, newProduct(t, st, o.ID).ID)
	}
	ps, err := st.ListProducts(ctx, o.ID, page.Params{Limit: 2})
	must(t, err)
	rest, err := st.ListProducts(ctx, o.ID, page.Params{StartingAfter: ps[len(ps)-1].ID})
	must(t, err)
	var listed []string
	for _, p := range append(ps, rest...) {
		listed = append(listed, p.ID)
	}
	wantIDs(t, "product pages", listed, ids)

	// Deleting a tax rate a product names is allowed: documents copy rates.
	must(t, st.DeleteTaxRate(ctx, o.ID, r.ID))
	must(t, st.DeleteProduct(ctx, o.ID, p.ID))
	_, err = st.GetProduct(ctx, o.ID, p.ID)
	wantErr(t, err, errs.NotFound, "not_found")
	wantErr(t, st.DeleteProduct(ctx, o.ID, p.ID), errs.NotFound, "not_found")
	wantErr(t, st.UpdateProduct(ctx, p), errs.NotFound, "not_found")
}

func testTaxRates(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	r := newTaxRate(t, st, o.ID)
	exempt := &catalog.TaxRate{ID: newID("txr"), OrgID: o.ID, Name: "Reverse charge", Percentage: dec("0"), Category: "AE",
		ExemptionReason: "Reverse charge", ExemptionReasonCode: "VATEX-EU-AE", Active: false, CreatedAt: at, UpdatedAt: at}
	must(t, st.InsertTaxRate(ctx, exempt))
	for _, want := range []*catalog.TaxRate{r, exempt} {
		got, err := st.GetTaxRate(ctx, o.ID, want.ID)
		must(t, err)
		sameJSON(t, "tax rate", got, want)
	}
	r.Percentage, r.Name, r.UpdatedAt = dec("19.00"), "VAT", at.Add(time.Hour)
	must(t, st.UpdateTaxRate(ctx, r))
	got, err := st.GetTaxRate(ctx, o.ID, r.ID)
	must(t, err)
	if got.Percentage.String() != "19.00" {
		t.Fatalf("percentage = %s, want 19.00 (scale kept)", got.Percentage)
	}
	rs, err := st.ListTaxRates(ctx, o.ID, page.Params{})
	must(t, err)
	if len(rs) != 2 {
		t.Fatalf("listed %d tax rates, want 2", len(rs))
	}
	must(t, st.DeleteTaxRate(ctx, o.ID, r.ID))
	_, err = st.GetTaxRate(ctx, o.ID, r.ID)
	wantErr(t, err, errs.NotFound, "not_found")
	wantErr(t, st.UpdateTaxRate(ctx, r), errs.NotFound, "not_found")
}
