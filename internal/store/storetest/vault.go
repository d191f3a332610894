package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bursar/internal/api"
	"bursar/internal/customer"
	"bursar/internal/org"
	"bursar/internal/party"
	"bursar/internal/store/sqlstore"
	"bursar/internal/vault"
)

// secrets are distinctive personal values that must never be found in
// clear at rest.
var secrets = []string{
	"zq-ada.lovelace@analytical.example", "zq-cc.babbage@engine.example", "Zqstrasse 42", "Zqhinterhaus",
	"Zqkirchen", "ZQ-99421", "ZQTAX-77123", "ZQVAT-55831", "Zq note: call after 6pm",
	"Zq invoice note", "Zq credit reason", "Zqada Lovelace", "zq-billing@sealing.example",
}

// SealedAtRest stores an organization, a customer, an invoice and a
// credit note holding the distinctive values of secrets, reads them back,
// and checks that dump (the raw database: files or every table as text)
// holds none of them in clear. It also proves that a ciphertext copied to
// another row does not open there.
func SealedAtRest(t *testing.T, st *sqlstore.Store, dump func(t *testing.T) []byte) {
	t.Helper()
	if st.Vault() == nil {
		t.Fatal("store opened without a key-encryption key")
	}
	addr := party.Address{Line1: secrets[2], Line2: secrets[3], City: secrets[4], PostalCode: secrets[5], Region: "BY", Country: "DE"}
	o := &org.Organization{ID: newID("org"), Name: "Sealing GmbH", Email: secrets[12], Address: addr,
		VATID: secrets[7], TaxID: secrets[6], DefaultCurrency: "EUR", TimeZone: "Europe/Berlin", Locale: "de-DE",
		InvoiceSeries: org.DefaultInvoiceSeries, CreditNoteSeries: org.DefaultCreditNoteSeries, CreatedAt: at, UpdatedAt: at}
	must(t, st.InsertOrganization(ctx, o))
	c := &customer.Customer{ID: newID("cus"), OrgID: o.ID, Name: secrets[11], Email: secrets[0], CCEmails: []string{secrets[1]},
		Address: addr, TaxID: secrets[6], Currency: "EUR", Locale: "de-DE", Notes: secrets[8], CreatedAt: at, UpdatedAt: at}
	must(t, st.InsertCustomer(ctx, c))
	inv := fullInvoice(o, c)
	inv.Notes = secrets[9]
	must(t, st.InsertInvoice(ctx, inv))
	cn := creditNote(inv, "CN-ZQ-1")
	cn.Reason = secrets[10]
	must(t, st.InsertCreditNote(ctx, cn))

	gotOrg, err := st.GetOrganization(ctx, o.ID)
	must(t, err)
	sameJSON(t, "organization", gotOrg, o)
	gotCus, err := st.GetCustomer(ctx, o.ID, c.ID)
	must(t, err)
	sameJSON(t, "customer", gotCus, c)
	gotInv, err := st.GetInvoice(ctx, o.ID, inv.ID, false)
	must(t, err)
	if gotInv.Buyer != inv.Buyer || gotInv.Seller != inv.Seller || gotInv.Notes != inv.Notes {
		t.Fatalf("invoice parties or notes changed: got %+v %+v %q", gotInv.Buyer, gotInv.Seller, gotInv.Notes)
	}
	gotCN, err := st.GetCreditNote(ctx, o.ID, cn.ID)
	must(t, err)
	if gotCN.Reason != cn.Reason || gotCN.Buyer != cn.Buyer {
		t.Fatalf("credit note reason or buyer changed: got %q %+v", gotCN.Reason, gotCN.Buyer)
	}
	// The blind indexes find the customer by email and tax id, normalized.
	cs, err := st.ListCustomers(ctx, o.ID, customer.Filter{Email: "  ZQ-Ada.Lovelace@Analytical.example "})
	must(t, err)
	if len(cs) != 1 || cs[0].ID != c.ID {
		t.Fatalf("list by email found %d customers, want the one", len(cs))
	}
	cs, err = st.ListCustomers(ctx, o.ID, customer.Filter{TaxID: "zq tax 77123"})
	must(t, err)
	if len(cs) != 1 || cs[0].ID != c.ID {
		t.Fatalf("list by tax id found %d customers, want the one", len(cs))
	}

	// A stored response (idempotency) repeats the customer as returned.
	rec := &api.IdempotencyRecord{OrgID: o.ID, Key: "zq-key", Method: "POST", Path: "/v1/customers",
		RequestHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", CreatedAt: at}
	_, err = st.ReserveIdempotencyKey(ctx, rec)
	must(t, err)
	rec.Status, rec.ContentType, rec.Body = 201, "application/json", []byte(`{"email":"`+secrets[0]+`"}`)
	must(t, st.CompleteIdempotencyKey(ctx, rec))
	replay, err := st.ReserveIdempotencyKey(ctx, rec)
	must(t, err)
	if replay == nil || string(replay.Body) != string(rec.Body) {
		t.Fatalf("idempotent replay = %+v, want the stored body", replay)
	}

	raw := dump(t)
	if len(raw) == 0 {
		t.Fatal("the dump is empty")
	}
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("%q is stored in clear", s)
		}
	}
	// The test's own control: a value left in clear on purpose is found.
	if !bytes.Contains(raw, []byte("Sealing GmbH")) {
		t.Error("the dump does not hold the organization's name, which is not sealed: is it the database?")
	}

	// A ciphertext copied to another row does not open there.
	other := &customer.Customer{ID: newID("cus"), OrgID: o.ID, Name: "Other", Email: "other@example.com", Currency: "EUR",
		CreatedAt: at, UpdatedAt: at}
	must(t, st.InsertCustomer(ctx, other))
	// The ids are the test's own, safe to spell out in SQL.
	_, err = st.DB().ExecContext(ctx, fmt.Sprintf("UPDATE customers SET email = (SELECT email FROM customers WHERE id = '%s') WHERE id = '%s'", c.ID, other.ID))
	must(t, err)
	if _, err := st.GetCustomer(ctx, o.ID, other.ID); !errors.Is(err, vault.ErrCannotOpen) {
		t.Fatalf("GetCustomer with another row's email: err = %v, want ErrCannotOpen", err)
	}
}

// Rotation rotates every organization's data keys while writers and
// readers run, re-encrypts until a pass finds nothing left, and proves
// that nothing was lost or unreadable, and that no sealed value uses an
// older key afterwards.
func Rotation(t *testing.T, st *sqlstore.Store) {
	t.Helper()
	o := newOrg(t, st)
	var mu sync.Mutex
	want := map[string]string{} // customer id -> notes last written
	for i := range 20 {
		c := newCustomer(t, st, o.ID)
		c.Notes = fmt.Sprintf("note %d v0", i)
		must(t, st.UpdateCustomer(ctx, c))
		want[c.ID] = c.Notes
	}
	inv := fullInvoice(o, newCustomer(t, st, o.ID))
	must(t, st.InsertInvoice(ctx, inv))
	mu.Lock()
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	mu.Unlock()

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var failures atomic.Int64
	var reads, writes atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 5 {
			t.Errorf(format, args...)
		}
	}
	for w := range 3 {
		wg.Add(1)
		go func() { // writers: update notes and add customers
			defer wg.Done()
			for n := 0; runCtx.Err() == nil; n++ {
				id := ids[(n*3+w)%len(ids)]
				c, err := st.GetCustomer(ctx, o.ID, id)
				if err != nil {
					fail("writer read %s: %v", id, err)
					return
				}
				mu.Lock()
				c.Notes = fmt.Sprintf("note of %s by %d at %d", id, w, n)
				c.UpdatedAt = at
				err = st.UpdateCustomer(ctx, c)
				if err == nil {
					want[id] = c.Notes
				}
				mu.Unlock()
				if err != nil {
					fail("writer update %s: %v", id, err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	for r := range 3 {
		wg.Add(1)
		go func() { // readers: every customer and the invoice
			defer wg.Done()
			for n := 0; runCtx.Err() == nil; n++ {
				if _, err := st.ListCustomers(ctx, o.ID, customer.Filter{Params: pageOf(100)}); err != nil {
					fail("reader %d list: %v", r, err)
					return
				}
				if _, err := st.GetInvoice(ctx, o.ID, inv.ID, false); err != nil {
					fail("reader %d invoice: %v", r, err)
					return
				}
				reads.Add(1)
			}
		}()
	}

	// A failure below ends the test: stop the load first, so that it does
	// not report into a finished test.
	defer func() { stop(); wg.Wait() }()
	time.Sleep(50 * time.Millisecond)
	v := st.Vault()
	oldID, err := v.PrimaryKeyID(ctx, o.ID)
	must(t, err)
	newID, err := v.Rotate(ctx, o.ID)
	must(t, err)
	for pass := 0; ; pass++ {
		s, err := st.Reencrypt(ctx, 7)
		must(t, err)
		if s.Rows == 0 && s.Conflicts == 0 {
			break
		}
		if pass > 50 {
			t.Fatalf("re-encryption does not settle: %+v", s)
		}
	}
	time.Sleep(50 * time.Millisecond)
	stop()
	wg.Wait()
	if reads.Load() == 0 || writes.Load() == 0 {
		t.Fatalf("the load did not run: %d reads, %d writes", reads.Load(), writes.Load())
	}
	if s, err := st.Reencrypt(ctx, 7); err != nil || s.Rows != 0 || s.Conflicts != 0 {
		t.Fatalf("a pass after the load stopped rewrote %+v (%v); writes during rotation used an old key", s, err)
	}

	for id, notes := range want {
		c, err := st.GetCustomer(ctx, o.ID, id)
		must(t, err)
		if c.Notes != notes || c.Email != "ap@globex.example" {
			t.Fatalf("customer %s: notes %q email %q, want %q", id, c.Notes, c.Email, notes)
		}
	}
	got, err := st.GetInvoice(ctx, o.ID, inv.ID, false)
	must(t, err)
	if got.Buyer != inv.Buyer {
		t.Fatalf("invoice buyer after rotation: %+v, want %+v", got.Buyer, inv.Buyer)
	}
	ids2, err := st.SealedKeyIDs(ctx, o.ID)
	must(t, err)
	if len(ids2) == 0 {
		t.Fatal("no sealed values found")
	}
	for id, n := range ids2 {
		if id != newID {
			t.Errorf("%d values still sealed with key %d (old primary %d, new %d)", n, id, oldID, newID)
		}
	}
}

// LegacyRows proves that rows written in clear (by a store without a
// key-encryption key, as before sealing existed) read back through a
// sealing store on the same database, and that one re-encryption pass
// seals them and fills their blind indexes. plain and sealed are two
// stores over one database.
func LegacyRows(t *testing.T, plain, sealed *sqlstore.Store) {
	t.Helper()
	o := newOrg(t, plain)
	c := newCustomer(t, plain, o.ID)
	inv := fullInvoice(o, c)
	must(t, plain.InsertInvoice(ctx, inv))

	got, err := sealed.GetCustomer(ctx, o.ID, c.ID)
	must(t, err)
	sameJSON(t, "legacy customer", got, c)
	for pass := 0; ; pass++ {
		s, err := sealed.Reencrypt(ctx, 2)
		must(t, err)
		if s.Rows == 0 && s.Conflicts == 0 {
			break
		}
		if pass > 3 {
			t.Fatalf("re-encryption does not settle: %+v", s)
		}
	}
	ids, err := sealed.SealedKeyIDs(ctx, o.ID)
	must(t, err)
	primary, err := sealed.Vault().PrimaryKeyID(ctx, o.ID)
	must(t, err)
	for id, n := range ids {
		if id != primary {
			t.Errorf("%d values under key %d after re-encryption, want all under %d", n, id, primary)
		}
	}
	got, err = sealed.GetCustomer(ctx, o.ID, c.ID)
	must(t, err)
	sameJSON(t, "re-encrypted customer", got, c)
	gotInv, err := sealed.GetInvoice(ctx, o.ID, inv.ID, false)
	must(t, err)
	if gotInv.Buyer != inv.Buyer || gotInv.Seller != inv.Seller {
		t.Fatalf("re-encrypted invoice parties: %+v %+v", gotInv.Buyer, gotInv.Seller)
	}
	cs, err := sealed.ListCustomers(ctx, o.ID, customer.Filter{Email: c.Email})
	must(t, err)
	if len(cs) != 1 || cs[0].ID != c.ID {
		t.Fatalf("list by email after re-encryption found %d customers, want the one", len(cs))
	}
	// The store in clear now refuses what it cannot open, rather than
	// handing out ciphertext as if it were the value.
	if _, err := plain.GetCustomer(ctx, o.ID, c.ID); err == nil {
		t.Fatal("a store without the key read a sealed customer")
	}
}
