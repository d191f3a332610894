package storetest

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"bursar/internal/api"
	"bursar/internal/auth"
	"bursar/internal/customer"
	"bursar/internal/errs"
	"bursar/internal/invoice"
	"bursar/internal/page"
	"bursar/internal/store/sqlstore"
)

func testIdempotency(t *testing.T, st *sqlstore.Store) {
	o, o2 := newOrg(t, st), newOrg(t, st)
	rec := &api.IdempotencyRecord{OrgID: o.ID, Key: "key-1", Method: "POST", Path: "/v1/invoices",
		RequestHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", CreatedAt: at}
	existing, err := st.ReserveIdempotencyKey(ctx, rec)
	must(t, err)
	if existing != nil {
		t.Fatalf("first reservation found %+v, want nil", existing)
	}
	again := *rec
	again.RequestHash = "other"
	existing, err = st.ReserveIdempotencyKey(ctx, &again)
	must(t, err)
	if existing == nil || existing.Status != 0 || existing.RequestHash != rec.RequestHash || existing.Path != rec.Path ||
		existing.Method != "POST" || !existing.CreatedAt.Equal(stored) {
		t.Fatalf("second reservation found %+v, want the first, still running", existing)
	}

	done := *rec
	done.Status, done.ContentType, done.Body = 201, "application/json", []byte(`{"id":"inv_1"}`)
	must(t, st.CompleteIdempotencyKey(ctx, &done))
	existing, err = st.ReserveIdempotencyKey(ctx, &again)
	must(t, err)
	if existing == nil || existing.Status != 201 || existing.ContentType != "application/json" || !bytes.Equal(existing.Body, done.Body) {
		t.Fatalf("reservation after completion found %+v, want the response", existing)
	}
	// A completed key stays: its response is what replays get.
	must(t, st.ReleaseIdempotencyKey(ctx, o.ID, rec.Key))
	if existing, err = st.ReserveIdempotencyKey(ctx, &again); err != nil || existing == nil || existing.Status != 201 {
		t.Fatalf("after releasing a completed key: %+v, %v; want the response", existing, err)
	}

	// A released reservation may be taken again.
	failed := *rec
	failed.Key = "key-2"
	if existing, err = st.ReserveIdempotencyKey(ctx, &failed); err != nil || existing != nil {
		t.Fatalf("reserve key-2: %+v, %v", existing, err)
	}
	must(t, st.ReleaseIdempotencyKey(ctx, o.ID, "key-2"))
	if existing, err = st.ReserveIdempotencyKey(ctx, &failed); err != nil || existing != nil {
		t.Fatalf("reserve key-2 after release: %+v, %v; want a new reservation", existing, err)
	}

	// Keys are per organization.
	theirs := *rec
	theirs.OrgID = o2.ID
	if existing, err = st.ReserveIdempotencyKey(ctx, &theirs); err != nil || existing != nil {
		t.Fatalf("the same key in another organization: %+v, %v; want a new reservation", existing, err)
	}
	unknown := done
	unknown.Key = "never-reserved"
	wantErr(t, st.CompleteIdempotencyKey(ctx, &unknown), errs.NotFound, "not_found")
}

func testUsers(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	email := newID("usr") + "@example.com"
	u := &auth.User{ID: newID("usr"), Email: email, Name: "Ada", CreatedAt: at}
	must(t, st.InsertUser(ctx, u))
	dup := &auth.User{ID: newID("usr"), Email: email, CreatedAt: at}
	wantErr(t, st.InsertUser(ctx, dup), errs.Conflict, "already_exists")
	m := &auth.Membership{OrgID: o.ID, UserID: u.ID, Role: auth.RoleOwner, CreatedAt: at}
	must(t, st.InsertMembership(ctx, m))
	wantErr(t, st.InsertMembership(ctx, m), errs.Conflict, "already_exists")
	bad := &auth.Membership{OrgID: o.ID, UserID: u.ID, Role: "god", CreatedAt: at}
	bad.OrgID = newOrg(t, st).ID
	if err := st.InsertMembership(ctx, bad); errs.KindOf(err) != errs.Conflict {
		t.Fatalf("membership with role %q: err = %v, want a conflict", bad.Role, err)
	}
}

func newAPIKey(t *testing.T, st *sqlstore.Store, orgID string) *auth.APIKey {
	t.Helper()
	id := newID("key")
	h := sha256.Sum256([]byte("bsk_" + id))
	k := &auth.APIKey{ID: id, OrgID: orgID, Name: "CI", Prefix: "bsk_abcdef", Hash: h[:],
		Scopes: []string{"invoices:write", "read"}, CreatedAt: at, ExpiresAt: ptr(at.Add(90 * 24 * time.Hour))}
	must(t, st.InsertAPIKey(ctx, k))
	return k
}

func testAPIKeys(t *testing.T, st *sqlstore.Store) {
	o := newOrg(t, st)
	k := newAPIKey(t, st, o.ID)
	check := func(what string, got *auth.APIKey, err error) {
		t.Helper()
		must(t, err)
		sameJSON(t, what, got, k)
		if got.OrgID != o.ID || !bytes.Equal(got.Hash, k.Hash) {
			t.Fatalf("%s: OrgID %q, hash %x; want %q, %x", what, got.OrgID, got.Hash, o.ID, k.Hash)
		}
	}
	got, err := st.GetAPIKeyByHash(ctx, k.Hash)
	check("key by hash", got, err)
	got, err = st.GetAPIKey(ctx, o.ID, k.ID)
	check("key by id", got, err)
	_, err = st.GetAPIKeyByHash(ctx, make([]byte, 32))
	wantErr(t, err, errs.NotFound, "not_found")

	used := stored.Add(time.Hour)
	must(t, st.TouchAPIKey(ctx, k.ID, used))
	first := stored.Add(2 * time.Hour)
	must(t, st.RevokeAPIKey(ctx, o.ID, k.ID, first))
	must(t, st.RevokeAPIKey(ctx, o.ID, k.ID, first.Add(time.Hour)))
	got, err = st.GetAPIKey(ctx, o.ID, k.ID)
	must(t, err)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.RevokedAt == nil || !got.RevokedAt.Equal(first) {
		t.Fatalf("last used %v, revoked %v; want %v, %v (the first revocation)", got.LastUsedAt, got.RevokedAt, used, first)
	}
	wantErr(t, st.TouchAPIKey(ctx, newID("key"), used), errs.NotFound, "not_found")
	wantErr(t, st.RevokeAPIKey(ctx, o.ID, newID("key"), used), errs.NotFound, "not_found")

	dup := *k
	dup.ID = newID("key")
	wantErr(t, st.InsertAPIKey(ctx, &dup), errs.Conflict, "already_exists")

	ids := []string{k.ID}
	for range 2 {
		ids = append(ids, newAPIKey(t, st, o.ID).ID)
	}
	keys, err := st.ListAPIKeys(ctx, o.ID, page.Params{Limit: 2})
	must(t, err)
	rest, err := st.ListAPIKeys(ctx, o.ID, page.Params{Limit: 2, StartingAfter: keys[1].ID})
	must(t, err)
	var listed []string
	for _, k := range append(keys, rest...) {
		listed = append(listed, k.ID)
	}
	wantIDs(t, "API key pages", listed, ids)
}

// testTenantIsolation tries every read, change and delete of one
// organization's objects in the name of another: each answers not found,
// exactly like a missing object, and changes nothing.
func testTenantIsolation(t *testing.T, st *sqlstore.Store) {
	mine, theirs := newOrg(t, st), newOrg(t, st)
	c := newCustomer(t, st, mine.ID)
	r := newTaxRate(t, st, mine.ID)
	p := newProduct(t, st, mine.ID, r.ID)
	inv := fullInvoice(mine, c)
	must(t, st.InsertInvoice(ctx, inv))
	d := draft(mine, c)
	must(t, st.InsertInvoice(ctx, d))
	cn := creditNote(inv, "CN-1")
	must(t, st.InsertCreditNote(ctx, cn))
	pay := payment(inv, "2026-11-23")
	must(t, st.InsertPayment(ctx, pay))
	k := newAPIKey(t, st, mine.ID)
	must(t, st.AddCustomerCredit(ctx, mine.ID, c.ID, 100))

	other := theirs.ID
	notFound := func(what string, err error) {
		t.Helper()
		if errs.KindOf(err) != errs.NotFound {
			t.Errorf("%s in another organization's name: err = %v, want not found", what, err)
		}
	}
	get := func(_ any, err error) error { return err }
	notFound("GetCustomer", get(st.GetCustomer(ctx, other, c.ID)))
	notFound("GetTaxRate", get(st.GetTaxRate(ctx, other, r.ID)))
	notFound("GetProduct", get(st.GetProduct(ctx, other, p.ID)))
	notFound("GetInvoice", get(st.GetInvoice(ctx, other, inv.ID, false)))
	notFound("GetInvoice for update", get(st.GetInvoice(ctx, other, inv.ID, true)))
	notFound("InvoiceVersion", get(st.InvoiceVersion(ctx, other, inv.ID)))
	notFound("GetCreditNote", get(st.GetCreditNote(ctx, other, cn.ID)))
	notFound("GetPayment", get(st.GetPayment(ctx, other, pay.ID)))
	notFound("GetAPIKey", get(st.GetAPIKey(ctx, other, k.ID)))

	cc := *c
	cc.OrgID, cc.Name = other, "hijacked"
	notFound("UpdateCustomer", st.UpdateCustomer(ctx, &cc))
	rc := *r
	rc.OrgID, rc.Name = other, "hijacked"
	notFound("UpdateTaxRate", st.UpdateTaxRate(ctx, &rc))
	pc := *p
	pc.OrgID, pc.Name = other, "hijacked"
	notFound("UpdateProduct", st.UpdateProduct(ctx, &pc))
	ic := *d
	ic.OrgID, ic.Notes = other, "hijacked"
	notFound("UpdateInvoice", st.UpdateInvoice(ctx, &ic))
	notFound("AddCustomerCredit", st.AddCustomerCredit(ctx, other, c.ID, -100))
	notFound("RevokeAPIKey", st.RevokeAPIKey(ctx, other, k.ID, at))
	notFound("DeleteInvoice", st.DeleteInvoice(ctx, other, d.ID))
	notFound("DeleteProduct", st.DeleteProduct(ctx, other, p.ID))
	notFound("DeleteTaxRate", st.DeleteTaxRate(ctx, other, r.ID))
	notFound("DeleteCustomer", st.DeleteCustomer(ctx, other, c.ID))

	// Nor can another organization's document refer to this one's objects.
	foreign := draft(theirs, c)
	if err := st.InsertInvoice(ctx, foreign); errs.KindOf(err) != errs.Conflict {
		t.Errorf("an invoice of another organization for this one's customer: err = %v, want a conflict", err)
	}

	// Lists in the other's name are empty.
	if cs, err := st.ListCustomers(ctx, other, customer.Filter{}); err != nil || len(cs) != 0 {
		t.Errorf("ListCustomers: %d, %v", len(cs), err)
	}
	if ps, err := st.ListProducts(ctx, other, page.Params{}); err != nil || len(ps) != 0 {
		t.Errorf("ListProducts: %d, %v", len(ps), err)
	}
	if rs, err := st.ListTaxRates(ctx, other, page.Params{}); err != nil || len(rs) != 0 {
		t.Errorf("ListTaxRates: %d, %v", len(rs), err)
	}
	if is, err := st.ListInvoices(ctx, other, invoice.Filter{CustomerID: c.ID}); err != nil || len(is) != 0 {
		t.Errorf("ListInvoices: %d, %v", len(is), err)
	}
	if cns, err := st.ListCreditNotes(ctx, other, invoice.Filter{InvoiceID: inv.ID}); err != nil || len(cns) != 0 {
		t.Errorf("ListCreditNotes: %d, %v", len(cns), err)
	}
	if ps, err := st.ListPayments(ctx, other, invoice.Filter{InvoiceID: inv.ID}); err != nil || len(ps) != 0 {
		t.Errorf("ListPayments: %d, %v", len(ps), err)
	}
	if ks, err := st.ListAPIKeys(ctx, other, page.Params{}); err != nil || len(ks) != 0 {
		t.Errorf("ListAPIKeys: %d, %v", len(ks), err)
	}

	// Everything is as it was.
	gotC, err := st.GetCustomer(ctx, mine.ID, c.ID)
	must(t, err)
	if gotC.Name != c.Name || gotC.CreditBalance != 100 {
		t.Errorf("customer after the attempts: name %q, credit %d", gotC.Name, gotC.CreditBalance)
	}
	gotR, err := st.GetTaxRate(ctx, mine.ID, r.ID)
	must(t, err)
	gotP, err := st.GetProduct(ctx, mine.ID, p.ID)
	must(t, err)
	gotD, err := st.GetInvoice(ctx, mine.ID, d.ID, false)
	must(t, err)
	gotK, err := st.GetAPIKey(ctx, mine.ID, k.ID)
	must(t, err)
	if gotR.Name == "hijacked" || gotP.Name == "hijacked" || gotD.Notes == "hijacked" || gotK.RevokedAt != nil {
		t.Errorf("an object changed in another organization's name")
	}
}
