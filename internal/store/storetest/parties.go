package storetest

import (
	"testing"
	"time"

	"bursar/internal/errs"
	"bursar/internal/store/sqlstore"
)

// testParties reads a document's seller and buyer together, as finalize
// does: each equals what its own read gives, sealed values opened, and a
// customer of another organization is not found, nor is a missing one.
func testParties(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	c := newCustomer(t, st, o.ID)
	c.Email, c.TaxID, c.Notes, c.UpdatedAt = "ap@globex.example", "DE123456789", "net 30", at.Add(time.Minute)
	c.Address.Line1, c.Address.City = "Hauptstr. 1", "Berlin"
	must(t, st.UpdateCustomer(ctx, c))

	gotOrg, gotCus, err := st.GetParties(ctx, o.ID, c.ID)
	must(t, err)
	wantOrg, err := st.GetOrganization(ctx, o.ID)
	must(t, err)
	wantCus, err := st.GetCustomer(ctx, o.ID, c.ID)
	must(t, err)
	sameJSON(t, "organization", gotOrg, wantOrg)
	sameJSON(t, "customer", gotCus, wantCus)
	if gotCus.Email != "ap@globex.example" || gotCus.Address.City != "Berlin" {
		t.Errorf("customer email %q, city %q: sealed values not opened", gotCus.Email, gotCus.Address.City)
	}

	other := newOrg(t, st)
	for name, ids := range map[string][2]string{
		"another organization's customer": {other.ID, c.ID},
		"a missing customer":              {o.ID, newID("cus")},
	} {
		if _, _, err := st.GetParties(ctx, ids[0], ids[1]); errs.KindOf(err) != errs.NotFound {
			t.Errorf("%s: err = %v, want not found", name, err)
		}
	}
}
