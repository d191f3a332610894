package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar/internal/api"
	"bursar/internal/audit"
	"bursar/internal/errs"
	"bursar/internal/invoice"
	"bursar/internal/page"
	"bursar/internal/privacy"
	"bursar/internal/store/sqlstore"
)

// Privacy runs the tests of the purge job and of erasure against stores
// of their own: a purge visits every organization of the database.
func Privacy(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, st *sqlstore.Store)
	}{
		{"Purge", testPurge},
		{"PurgeConcurrent", testPurgeConcurrent},
		{"EraseIdempotentResponses", testEraseIdempotentResponses},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// purgeNow is the purge's fixed day: with the default 10 years, documents
// dated before 2016 are past their retention.
var purgeNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

// docs issues documents on given dates and audits them as the API does.
type docs struct {
	t   *testing.T
	st  *sqlstore.Store
	svc *invoice.Service
	log *audit.Log
}

func newDocs(t *testing.T, st *sqlstore.Store) *docs {
	keys, err := audit.EphemeralKeys()
	must(t, err)
	now := func() time.Time { return purgeNow }
	return &docs{t: t, st: st, svc: &invoice.Service{Store: st, Now: now}, log: &audit.Log{Store: st, Keys: keys, Now: now}}
}

func (d *docs) audit(orgID, action, objectType, id string) {
	d.t.Helper()
	must(d.t, d.log.Append(ctx, &audit.Entry{Tree: orgID, Actor: audit.Actor{Type: audit.ActorSystem, ID: "test"},
		Action: action, ObjectType: objectType, ObjectID: id}))
}

// invoice issues an invoice of 100.00 on the day; an empty day leaves a draft.
func (d *docs) invoice(orgID, customerID, day string) *invoice.Invoice {
	d.t.Helper()
	inv, err := d.svc.Create(ctx, orgID, invoice.Input{CustomerID: customerID, IssueDate: day,
		Lines: []invoice.LineInput{{Description: "Consulting", Quantity: "1", UnitPrice: "100.00"}}})
	must(d.t, err)
	d.audit(orgID, "invoice.created", "invoice", inv.ID)
	if day == "" {
		return inv
	}
	inv, err = d.svc.Finalize(ctx, orgID, inv.ID)
	must(d.t, err)
	d.audit(orgID, "invoice.finalized", "invoice", inv.ID)
	return inv
}

func (d *docs) pay(orgID string, inv *invoice.Invoice, day string) *invoice.Payment {
	d.t.Helper()
	p, _, err := d.svc.RecordPayment(ctx, orgID, inv.ID, invoice.PaymentInput{Amount: "40.00", Date: day})
	must(d.t, err)
	d.audit(orgID, "payment.created", "payment", p.ID)
	return p
}

func (d *docs) credit(orgID string, inv *invoice.Invoice, day string) *invoice.CreditNote {
	d.t.Helper()
	cn, err := d.svc.CreateCreditNote(ctx, orgID, invoice.CreditNoteInput{InvoiceID: inv.ID, Reason: "discount", IssueDate: day,
		Lines: []invoice.LineInput{{Description: "Discount", Quantity: "1", UnitPrice: "10.00"}}})
	must(d.t, err)
	d.audit(orgID, "credit_note.created", "credit_note", cn.ID)
	return cn
}

// purgedEntries returns the invoice.purged entries of the organization's
// tree by invoice.
func purgedEntries(t *testing.T, st *sqlstore.Store, orgID string) map[string]*audit.Entry {
	t.Helper()
	out := map[string]*audit.Entry{}
	f := audit.Filter{Tree: orgID, Action: "invoice.purged", Params: page.Params{Limit: page.MaxLimit}}
	for {
		es, err := st.ListAuditEntries(ctx, f)
		must(t, err)
		for _, e := range es {
			if out[e.Entry.ObjectID] != nil {
				t.Errorf("invoice %s purged twice in the log", e.Entry.ObjectID)
			}
			out[e.Entry.ObjectID] = e.Entry
		}
		if len(es) < f.Size() {
			return out
		}
		f.StartingAfter = audit.EntryID(es[len(es)-1].Entry.Index)
	}
}

func verifyAudit(t *testing.T, st *sqlstore.Store, log *audit.Log) {
	t.Helper()
	if _, err := log.CheckpointAll(ctx); err != nil {
		t.Fatal(err)
	}
	problems, err := audit.Verify(ctx, st, log.Keys.Verifier)
	must(t, err)
	for _, p := range problems {
		t.Errorf("audit verify: %s", p)
	}
}

func purgedIDs(reports []privacy.PurgeReport, orgID string) []string {
	var ids []string
	for _, r := range reports {
		if r.OrgID != orgID {
			continue
		}
		for _, u := range r.Units {
			ids = append(ids, u.InvoiceID)
		}
	}
	slices.Sort(ids)
	return ids
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// testPurge issues documents on both sides of the retention periods and
// purges: only what is past its period goes, each invoice with its credit
// notes and payments, each with an audit entry, and the log stays intact.
func testPurge(t *testing.T, st *sqlstore.Store) {
	d := newDocs(t, st)
	o := newOrg(t, st)
	cus := newCustomer(t, st, o.ID)

	old := d.invoice(o.ID, cus.ID, "2014-03-01") // with a payment and a credit note of 2014: goes
	oldPay := d.pay(o.ID, old, "2014-04-01")
	oldNote := d.credit(o.ID, old, "2014-05-01")
	lastDay := d.invoice(o.ID, cus.ID, "2015-12-31")                                                    // the last day of the last year past: goes
	firstDay := d.invoice(o.ID, cus.ID, "2016-01-01")                                                   // kept to the end of 2026
	lateNote := d.invoice(o.ID, cus.ID, "2014-03-01")                                                   // its credit note is still kept
	lateNoteCN := d.credit(o.ID, lateNote, "2016-02-01")                                                //
	latePay := d.invoice(o.ID, cus.ID, "2014-03-01")                                                    // its payment is still kept
	latePayP := d.pay(o.ID, latePay, "2017-01-10")                                                      //
	draft := d.invoice(o.ID, cus.ID, "")                                                                // drafts are no documents
	recent := d.invoice(o.ID, cus.ID, purgeNow.Format(time.DateOnly))                                   // this year's
	draftOld, err := d.svc.Create(ctx, o.ID, invoice.Input{CustomerID: cus.ID, IssueDate: "2010-01-01", // an old draft too
		Lines: []invoice.LineInput{{Description: "x", Quantity: "1", UnitPrice: "1.00"}}})
	must(t, err)

	// Another organization keeps invoices 20 years: its invoice of 2014 stays.
	o2 := newOrg(t, st)
	cus2 := newCustomer(t, st, o2.ID)
	svc := &privacy.Service{Store: st, Now: func() time.Time { return purgeNow }}
	_, _, err = svc.SetRetention(ctx, o2.ID, map[privacy.Class]int{privacy.Invoices: 20})
	must(t, err)
	kept2 := d.invoice(o2.ID, cus2.ID, "2014-03-01")
	// And a third keeps credit notes 1 year: its invoice of 2014 with a
	// credit note of 2024 goes.
	o3 := newOrg(t, st)
	cus3 := newCustomer(t, st, o3.ID)
	_, _, err = svc.SetRetention(ctx, o3.ID, map[privacy.Class]int{privacy.CreditNotes: 1})
	must(t, err)
	gone3 := d.invoice(o3.ID, cus3.ID, "2014-03-01")
	gone3CN := d.credit(o3.ID, gone3, "2024-07-01")
	verifyAudit(t, st, d.log) // a checkpoint before the purge, which verify checks the tree against

	// A dry run reports and changes nothing.
	dry, err := svc.Purge(ctx, d.log, true)
	must(t, err)
	wantIDs(t, "dry run, first organization", sortedDesc(purgedIDs(dry, o.ID)), sortedIDs(old.ID, lastDay.ID))
	wantIDs(t, "dry run, second organization", sortedDesc(purgedIDs(dry, o2.ID)), nil)
	wantIDs(t, "dry run, third organization", sortedDesc(purgedIDs(dry, o3.ID)), []string{gone3.ID})
	if _, err := st.GetInvoice(ctx, o.ID, old.ID, false); err != nil {
		t.Errorf("after a dry run: %v", err)
	}
	if n := len(purgedEntries(t, st, o.ID)); n != 0 {
		t.Errorf("a dry run appended %d invoice.purged entries", n)
	}

	reports, err := svc.Purge(ctx, d.log, false)
	must(t, err)
	sameJSON(t, "purge reports", reports, dry)
	for _, r := range reports {
		for _, u := range r.Units {
			if u.InvoiceID == old.ID {
				sameJSON(t, "unit", u, privacy.Unit{InvoiceID: old.ID, Number: old.Number, CustomerID: cus.ID,
					CreditNoteIDs: []string{oldNote.ID}, PaymentIDs: []string{oldPay.ID}})
			}
		}
	}
	for _, v := range []struct{ org, id string }{{o.ID, old.ID}, {o.ID, lastDay.ID}, {o3.ID, gone3.ID}} {
		_, err := st.GetInvoice(ctx, v.org, v.id, false)
		wantErr(t, err, errs.NotFound, "")
	}
	for _, v := range []struct{ org, id string }{{o.ID, oldNote.ID}, {o3.ID, gone3CN.ID}} {
		_, err := st.GetCreditNote(ctx, v.org, v.id)
		wantErr(t, err, errs.NotFound, "")
	}
	_, err = st.GetPayment(ctx, o.ID, oldPay.ID)
	wantErr(t, err, errs.NotFound, "")
	for _, v := range []struct{ org, id string }{{o.ID, firstDay.ID}, {o.ID, lateNote.ID}, {o.ID, latePay.ID}, {o.ID, draft.ID},
		{o.ID, recent.ID}, {o.ID, draftOld.ID}, {o2.ID, kept2.ID}} {
		if _, err := st.GetInvoice(ctx, v.org, v.id, false); err != nil {
			t.Errorf("invoice %s, inside its period or a draft: %v", v.id, err)
		}
	}
	if _, err := st.GetCreditNote(ctx, o.ID, lateNoteCN.ID); err != nil {
		t.Errorf("credit note of 2016: %v", err)
	}
	if _, err := st.GetPayment(ctx, o.ID, latePayP.ID); err != nil {
		t.Errorf("payment of 2017: %v", err)
	}

	// Each purged invoice has one entry by the purge job, without personal data.
	entries := purgedEntries(t, st, o.ID)
	wantIDs(t, "invoice.purged entries", sortedDesc(keysOf(entries)), sortedIDs(old.ID, lastDay.ID))
	if e := entries[old.ID]; e != nil {
		if e.Actor.Type != audit.ActorSystem || e.Actor.ID != "job:purge" || e.ObjectType != "invoice" || !e.Time.Equal(purgeNow) {
			t.Errorf("entry = %+v, want by job:purge at %s", e, purgeNow)
		}
		fields := map[string]string{}
		for _, f := range e.Fields {
			fields[f.Name] = string(f.Value)
		}
		want := map[string]string{"credit_note_ids": mustMarshal(t, []string{oldNote.ID}), "customer_id": mustMarshal(t, cus.ID),
			"number": mustMarshal(t, old.Number), "payment_ids": mustMarshal(t, []string{oldPay.ID})}
		sameJSON(t, "entry fields", fields, want)
		leaf, err := e.Leaf()
		must(t, err)
		if strings.Contains(string(leaf), cus.Name) || strings.Contains(string(leaf), cus.Email) {
			t.Errorf("entry %s holds the customer's personal data", leaf)
		}
	}
	if n := len(purgedEntries(t, st, o3.ID)); n != 1 {
		t.Errorf("third organization: %d invoice.purged entries, want 1", n)
	}
	verifyAudit(t, st, d.log)

	// Nothing is left to purge, and a second purge records nothing.
	again, err := svc.Purge(ctx, d.log, false)
	must(t, err)
	if len(again) != 0 {
		t.Errorf("second purge = %+v, want nothing", again)
	}
	if n := len(purgedEntries(t, st, o.ID)); n != 2 {
		t.Errorf("after a second purge: %d invoice.purged entries, want 2", n)
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func mustMarshal(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}

// testPurgeConcurrent runs purges at once, as replicas do: each invoice
// is purged by one of them, and recorded once.
func testPurgeConcurrent(t *testing.T, st *sqlstore.Store) {
	d := newDocs(t, st)
	o := newOrg(t, st)
	cus := newCustomer(t, st, o.ID)
	const n = privacy.PurgeBatch + 20 // more than a batch: purges interleave between batches
	var want []string
	for range n {
		want = append(want, d.invoice(o.ID, cus.ID, "2012-05-01").ID)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []string
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := &privacy.Service{Store: st, Now: func() time.Time { return purgeNow }}
			reports, err := svc.Purge(ctx, d.log, false)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, purgedIDs(reports, o.ID)...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the purges together purged %d invoices, %d distinct; want each of the %d once", len(got), len(slices.Compact(slices.Clone(got))), n)
	}
	entries := purgedEntries(t, st, o.ID)
	if len(entries) != n {
		t.Errorf("%d invoice.purged entries, want %d", len(entries), n)
	}
	verifyAudit(t, st, d.log)
}

// testEraseIdempotentResponses keeps responses for replays that mention
// the customer, its documents, another customer and another
// organization's object of the same text, and erases the customer: only
// the responses about it and its documents in its organization lose
// their body.
func testEraseIdempotentResponses(t *testing.T, st *sqlstore.Store) {
	d := newDocs(t, st)
	o := newOrg(t, st)
	cus := newCustomer(t, st, o.ID)
	other := newCustomer(t, st, o.ID)
	inv := d.invoice(o.ID, cus.ID, "2025-03-01")
	pay := d.pay(o.ID, inv, "2025-03-05")
	o2 := newOrg(t, st)
	keep := func(orgID, key, body string) {
		t.Helper()
		rec := &api.IdempotencyRecord{OrgID: orgID, Key: key, Method: "POST", Path: "/v1/x", RequestHash: "h", CreatedAt: at}
		existing, err := st.ReserveIdempotencyKey(ctx, rec)
		must(t, err)
		if existing != nil {
			t.Fatalf("key %s reserved twice", key)
		}
		if body == "" { // still running: nothing to replay yet
			return
		}
		rec.Status, rec.ContentType, rec.Body = 201, "application/json", []byte(body)
		must(t, st.CompleteIdempotencyKey(ctx, rec))
	}
	keep(o.ID, "customer", fmt.Sprintf(`{"id":%q,"name":%q,"email":%q}`, cus.ID, cus.Name, cus.Email))
	keep(o.ID, "invoice", fmt.Sprintf(`{"id":%q,"customer_id":%q,"buyer":{"name":%q}}`, inv.ID, cus.ID, cus.Name))
	keep(o.ID, "payment", fmt.Sprintf(`{"id":%q,"invoice_id":%q}`, pay.ID, inv.ID))
	keep(o.ID, "other", fmt.Sprintf(`{"id":%q,"name":%q}`, other.ID, other.Name))
	keep(o.ID, "running", "")
	keep(o2.ID, "same text", fmt.Sprintf(`{"note":"mentions %s"}`, cus.ID))

	svc := &privacy.Service{Store: st, Now: func() time.Time { return purgeNow }}
	_, entry, err := svc.Erase(ctx, o.ID, cus.ID)
	must(t, err)
	var replays string
	for _, f := range entry.Fields {
		if f.Name == "idempotent_responses_erased" {
			replays = string(f.Value)
		}
	}
	if replays != "3" {
		t.Errorf("erasure entry's idempotent_responses_erased = %q, want 3", replays)
	}
	status, contentType, body := api.ErasedReplay()
	for _, c := range []struct {
		org, key   string
		erased     bool
		wantStatus int
	}{
		{o.ID, "customer", true, status}, {o.ID, "invoice", true, status}, {o.ID, "payment", true, status},
		{o.ID, "other", false, 201}, {o.ID, "running", false, 0}, {o2.ID, "same text", false, 201},
	} {
		got, err := st.ReserveIdempotencyKey(ctx, &api.IdempotencyRecord{OrgID: c.org, Key: c.key, Method: "POST", Path: "/v1/x", CreatedAt: at})
		must(t, err)
		if got == nil {
			t.Errorf("key %s: record gone, want it kept so that a retry is not carried out again", c.key)
			continue
		}
		if got.Status != c.wantStatus {
			t.Errorf("key %s: status %d, want %d", c.key, got.Status, c.wantStatus)
		}
		if erased := string(got.Body) == string(body) && got.ContentType == contentType; erased != c.erased {
			t.Errorf("key %s: body %s, erased = %v, want %v", c.key, got.Body, erased, c.erased)
		}
		if c.erased && (strings.Contains(string(got.Body), cus.Name) || strings.Contains(string(got.Body), cus.ID)) {
			t.Errorf("key %s: body %s still holds the customer", c.key, got.Body)
		}
	}
	if status != http.StatusGone {
		t.Errorf("ErasedReplay status = %d, want 410", status)
	}
	// A second erasure changes nothing.
	if _, _, err := svc.Erase(ctx, o.ID, cus.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	must(t, st.InTx(ctx, func(ctx context.Context) error {
		n, err = st.EraseIdempotentResponses(ctx, o.ID, []string{cus.ID})
		return err
	}))
	if n != 0 {
		t.Errorf("erasing again replaced %d responses, want 0", n)
	}
}
