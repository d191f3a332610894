package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bursar/internal/api"
	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/auth/sso"
	"bursar/internal/customer"
	"bursar/internal/errs"
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
	"zq-grace.hopper@identity.example", "zq-emmy.noether@identity.example",
}

// SealedAtRest stores an organization, a customer, an invoice, a credit
// note, a user and an invitation holding the distinctive values of
// secrets, reads them back (users and invitations by their emails too),
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

	// Users and invitations: their emails are sealed, and found by their
	// blind index whatever their case.
	u := &auth.User{ID: newID("usr"), Email: secrets[13], Name: "Grace", CreatedAt: at, PasswordHash: "x"}
	must(t, st.InsertUser(ctx, u))
	must(t, st.InsertMembership(ctx, &auth.Membership{OrgID: o.ID, UserID: u.ID, Role: auth.RoleOwner, CreatedAt: at}))
	invite := &auth.Invitation{ID: newID(auth.InvitationPrefix), OrgID: o.ID, Email: secrets[14], Role: auth.RoleViewer,
		TokenHash: hashOf(newID("tok")), InvitedBy: u.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	must(t, st.InsertInvitation(ctx, invite))
	gotUser, err := st.GetUserByEmail(ctx, " ZQ-Grace.Hopper@Identity.example")
	must(t, err)
	if gotUser.ID != u.ID || gotUser.Email != u.Email {
		t.Fatalf("GetUserByEmail = %+v, want %+v", gotUser, u)
	}
	if gotUser, err = st.GetUser(ctx, u.ID); err != nil || gotUser.Email != u.Email {
		t.Fatalf("GetUser = %+v, %v; want email %q", gotUser, err, u.Email)
	}
	if ms, err := st.ListMembers(ctx, o.ID, pageOf(10)); err != nil || len(ms) != 1 || ms[0].Email != u.Email {
		t.Fatalf("ListMembers = %+v, %v; want %s with email %q", ms, err, u.ID, u.Email)
	}
	wantErr(t, st.InsertUser(ctx, &auth.User{ID: newID("usr"), Email: strings.ToUpper(u.Email), Name: "Twin", CreatedAt: at}),
		errs.Conflict, "already_exists")
	if got, err := st.GetInvitationByHash(ctx, invite.TokenHash); err != nil || got.Email != invite.Email {
		t.Fatalf("GetInvitationByHash = %+v, %v; want email %q", got, err, invite.Email)
	}
	if l, err := st.ListInvitations(ctx, o.ID, pageOf(10)); err != nil || len(l) != 1 || l[0].Email != invite.Email {
		t.Fatalf("ListInvitations = %+v, %v; want email %q", l, err, invite.Email)
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
	// So does a user's email, sealed under that user's own keys.
	twin := &auth.User{ID: newID("usr"), Email: "twin@identity.example", Name: "Twin", CreatedAt: at}
	must(t, st.InsertUser(ctx, twin))
	// On SQLite users.email keeps the UNIQUE of its first schema: move the
	// ciphertext, rather than copy it. (base64 and ids: safe in SQL.)
	var sealedEmail string
	must(t, st.DB().QueryRowContext(ctx, fmt.Sprintf("SELECT email FROM users WHERE id = '%s'", u.ID)).Scan(&sealedEmail))
	_, err = st.DB().ExecContext(ctx, fmt.Sprintf("UPDATE users SET email = 'moved' WHERE id = '%s'", u.ID))
	must(t, err)
	_, err = st.DB().ExecContext(ctx, fmt.Sprintf("UPDATE users SET email = '%s' WHERE id = '%s'", sealedEmail, twin.ID))
	must(t, err)
	if _, err := st.GetUser(ctx, twin.ID); !errors.Is(err, vault.ErrCannotOpen) {
		t.Fatalf("GetUser with another user's email: err = %v, want ErrCannotOpen", err)
	}
}

// Rotation rotates the data keys of an organization, of a user and of the
// installation while writers and readers run, re-encrypts until a pass
// finds nothing left, and proves that nothing was lost or unreadable, and
// that no sealed value uses an older key afterwards: customers, documents,
// idempotent responses, invitations, the user's email and TOTP seed. It
// then retires the old keys, which only then leave the keysets, and
// proves that a value sealed with one no longer opens while every current
// value still reads.
func Rotation(t *testing.T, st *sqlstore.Store) {
	t.Helper()
	o := newOrg(t, st)
	v := st.Vault()
	u := &auth.User{ID: newID("usr"), Email: "rotating.user@identity.example", Name: "Rota", CreatedAt: at}
	must(t, st.InsertUser(ctx, u))
	userOwner := mfa.UserOwner(u.ID)
	seed := []byte("0123456789abcdefghij")
	sealedSeed, err := v.Seal(ctx, userOwner, "mfa_totp", "secret", u.ID, seed)
	must(t, err)
	must(t, st.PutPendingTOTP(ctx, &mfa.TOTP{UserID: u.ID, Secret: sealedSeed, CreatedAt: at}))
	invite := &auth.Invitation{ID: newID(auth.InvitationPrefix), OrgID: o.ID, Email: "rotating.invitee@identity.example", Role: auth.RoleViewer,
		TokenHash: hashOf(newID("tok")), InvitedBy: u.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	must(t, st.InsertInvitation(ctx, invite))
	rec := &api.IdempotencyRecord{OrgID: o.ID, Key: newID("idem"), Method: "POST", Path: "/v1/customers",
		RequestHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", CreatedAt: at}
	_, err = st.ReserveIdempotencyKey(ctx, rec)
	must(t, err)
	rec.Status, rec.ContentType, rec.Body = 201, "application/json", []byte(`{"email":"rotating@globex.example"}`)
	must(t, st.CompleteIdempotencyKey(ctx, rec))
	ssoCfg := &sso.Config{OrgID: o.ID, Issuer: "https://idp.example.com", ClientID: "bursar", ClientSecret: "rotating-client-secret",
		AllowedDomains: []string{}, DefaultRole: auth.RoleViewer, UpdatedAt: at}
	must(t, st.PutSSOConfig(ctx, ssoCfg))
	now := time.Now().UTC()
	flow := &sso.Flow{StateHash: hashOf(newID("state")), BrowserHash: hashOf(newID("browser")), OrgID: o.ID, Nonce: "n",
		Verifier: "rotating-verifier-0123456789abcdef", Next: "/", CreatedAt: now, ExpiresAt: now.Add(sso.FlowTTL)}
	must(t, st.InsertSSOFlow(ctx, flow))
	// The user's email as stored, sealed with the user's first key.
	var oldEmail string
	must(t, st.DB().QueryRowContext(ctx, fmt.Sprintf("SELECT email FROM users WHERE id = '%s'", u.ID)).Scan(&oldEmail))
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
	oldID, err := v.PrimaryKeyID(ctx, o.ID)
	must(t, err)
	oldUserID, err := v.PrimaryKeyID(ctx, userOwner)
	must(t, err)
	newID, err := v.Rotate(ctx, o.ID)
	must(t, err)
	newUserID, err := v.Rotate(ctx, userOwner)
	must(t, err)
	_, err = v.Rotate(ctx, vault.ServerOwner)
	must(t, err)

	// Before re-encryption the old keys still seal values: they stay.
	if rs, err := st.RetireKeys(ctx, time.Hour); err != nil || rs.Retired != 0 || rs.Skipped == 0 {
		t.Fatalf("retiring right after a rotation with an hour to settle: %+v, %v; want every key ring skipped", rs, err)
	}
	_, err = st.RetireKeys(ctx, 0)
	must(t, err)
	for owner, old := range map[string]uint32{o.ID: oldID, userOwner: oldUserID} {
		if ids, err := v.KeyIDs(ctx, owner); err != nil || !slices.Contains(ids, old) {
			t.Fatalf("keys of %s before re-encryption: %v, %v; the old key %d still in use was retired", owner, ids, err, old)
		}
	}
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
	for owner, primary := range map[string]uint32{o.ID: newID, userOwner: newUserID} {
		ids, err := st.SealedKeyIDs(ctx, owner)
		must(t, err)
		if len(ids) != 1 || ids[primary] == 0 {
			t.Errorf("values of %s by key after re-encryption: %v; want all under %d", owner, ids, primary)
		}
	}
	if ids, _ := st.SealedKeyIDs(ctx, userOwner); ids[newUserID] != 2 {
		t.Errorf("the user has %d sealed values under the new key, want 2 (email, TOTP seed)", ids[newUserID])
	}

	// Retirement: the old keys leave the keysets, and what they sealed no
	// longer opens.
	// (The installation's old key sealed nothing: it went above.)
	rs, err := st.RetireKeys(ctx, 0)
	must(t, err)
	if rs.Retired != 2 { // the organization's and the user's
		t.Fatalf("RetireKeys = %+v, want 2 keys retired", rs)
	}
	for owner, primary := range map[string]uint32{o.ID: newID, userOwner: newUserID} {
		if ids, err := v.KeyIDs(ctx, owner); err != nil || !slices.Equal(ids, []uint32{primary}) {
			t.Fatalf("keys of %s after retirement: %v, %v; want only %d", owner, ids, err, primary)
		}
	}
	if ids, err := v.KeyIDs(ctx, vault.ServerOwner); err != nil || len(ids) != 1 {
		t.Fatalf("installation keys after retirement: %v, %v; want only the primary", ids, err)
	}
	if _, err := v.OpenText(ctx, userOwner, "users", "email", u.ID, oldEmail); !errors.Is(err, vault.ErrCannotOpen) {
		t.Fatalf("the user's email sealed with the retired key: err = %v, want ErrCannotOpen", err)
	}
	if _, err := v.Open(ctx, userOwner, "mfa_totp", "secret", u.ID, sealedSeed); !errors.Is(err, vault.ErrCannotOpen) {
		t.Fatalf("the TOTP seed sealed with the retired key: err = %v, want ErrCannotOpen", err)
	}
	if rs, err := st.RetireKeys(ctx, 0); err != nil || rs.Retired != 0 {
		t.Fatalf("a second retirement: %+v, %v; want nothing retired", rs, err)
	}
	if got, err := st.GetUserByEmail(ctx, u.Email); err != nil || got.ID != u.ID || got.Email != u.Email {
		t.Fatalf("GetUserByEmail after retirement: %+v, %v", got, err)
	}
	totp, err := st.GetTOTP(ctx, u.ID)
	must(t, err)
	if got, err := v.Open(ctx, userOwner, "mfa_totp", "secret", u.ID, totp.Secret); err != nil || !bytes.Equal(got, seed) {
		t.Fatalf("TOTP seed after retirement: %q, %v", got, err)
	}
	if replay, err := st.ReserveIdempotencyKey(ctx, rec); err != nil || replay == nil || !bytes.Equal(replay.Body, rec.Body) {
		t.Fatalf("idempotent replay after retirement: %+v, %v", replay, err)
	}
	if got, err := st.GetInvitationByHash(ctx, invite.TokenHash); err != nil || got.Email != invite.Email {
		t.Fatalf("invitation after retirement: %+v, %v", got, err)
	}
	if got, err := st.GetSSOConfig(ctx, o.ID); err != nil || got.ClientSecret != ssoCfg.ClientSecret {
		t.Fatalf("single sign-on after retirement: %+v, %v", got, err)
	}
	if got, err := st.TakeSSOFlow(ctx, flow.StateHash); err != nil || got.Verifier != flow.Verifier {
		t.Fatalf("single sign-on flow after retirement: %+v, %v", got, err)
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
	u := &auth.User{ID: newID("usr"), Email: "legacy.user@identity.example", Name: "Old", CreatedAt: at}
	must(t, plain.InsertUser(ctx, u))
	invite := &auth.Invitation{ID: newID(auth.InvitationPrefix), OrgID: o.ID, Email: "legacy.invitee@identity.example", Role: auth.RoleViewer,
		TokenHash: hashOf(newID("tok")), InvitedBy: u.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	must(t, plain.InsertInvitation(ctx, invite))
	rec := &api.IdempotencyRecord{OrgID: o.ID, Key: newID("idem"), Method: "POST", Path: "/v1/customers",
		RequestHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Status: 201,
		ContentType: "application/json", Body: []byte(`{"email":"legacy@globex.example"}`), CreatedAt: at}
	_, err := plain.ReserveIdempotencyKey(ctx, rec)
	must(t, err)

	got, err := sealed.GetCustomer(ctx, o.ID, c.ID)
	must(t, err)
	sameJSON(t, "legacy customer", got, c)
	// A user in clear is found by email before re-encryption, and keeps
	// its address its own.
	if got, err := sealed.GetUserByEmail(ctx, "Legacy.User@identity.example"); err != nil || got.ID != u.ID || got.Email != u.Email {
		t.Fatalf("legacy user by email: %+v, %v", got, err)
	}
	wantErr(t, sealed.InsertUser(ctx, &auth.User{ID: newID("usr"), Email: u.Email, Name: "Twin", CreatedAt: at}), errs.Conflict, "already_exists")
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
	for _, owner := range []string{o.ID, mfa.UserOwner(u.ID)} {
		ids, err := sealed.SealedKeyIDs(ctx, owner)
		must(t, err)
		primary, err := sealed.Vault().PrimaryKeyID(ctx, owner)
		must(t, err)
		if len(ids) == 0 {
			t.Errorf("nothing of %s sealed after re-encryption", owner)
		}
		for id, n := range ids {
			if id != primary {
				t.Errorf("%d values of %s under key %d after re-encryption, want all under %d", n, owner, id, primary)
			}
		}
	}
	if got, err := sealed.GetUserByEmail(ctx, u.Email); err != nil || got.ID != u.ID || got.Email != u.Email {
		t.Fatalf("user by email after re-encryption: %+v, %v", got, err)
	}
	if got, err := sealed.GetInvitationByHash(ctx, invite.TokenHash); err != nil || got.Email != invite.Email {
		t.Fatalf("invitation after re-encryption: %+v, %v", got, err)
	}
	if replay, err := sealed.ReserveIdempotencyKey(ctx, rec); err != nil || replay == nil || !bytes.Equal(replay.Body, rec.Body) {
		t.Fatalf("idempotent replay after re-encryption: %+v, %v", replay, err)
	}
	// The blind index replaced the address in the index column.
	var bidx string
	must(t, sealed.DB().QueryRowContext(ctx, fmt.Sprintf("SELECT email_bidx FROM users WHERE id = '%s'", u.ID)).Scan(&bidx))
	if bidx == "" || strings.Contains(bidx, "@") {
		t.Fatalf("users.email_bidx after re-encryption = %q, want a blind index", bidx)
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
