package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"bursar/internal/audit"
	"bursar/internal/errs"
	"bursar/internal/invoice"
	"bursar/internal/page"
	"bursar/internal/privacy"
	"bursar/internal/store/pgtest"
	"bursar/internal/store/sqlstore"
)

// seedRetention stores an organization with n invoices of 2010, past the
// default retention of 10 years, and one of today, audited as the API
// does, in the database sf names. It returns the store, the organization,
// the old invoices and the recent one.
func seedRetention(t *testing.T, sf storeFlags, n int) (*sqlstore.Store, string, []string, string) {
	t.Helper()
	ctx := context.Background()
	st, err := openStore(ctx, sf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := auditKeys(sf)
	if err != nil {
		t.Fatal(err)
	}
	log := &audit.Log{Store: st, Keys: keys, Now: time.Now}
	o, cus := seedAcme(t, st)
	invoices := &invoice.Service{Store: st, Now: time.Now}
	issue := func(day string) string {
		var id string
		err := st.InTx(ctx, func(ctx context.Context) error {
			inv, err := invoices.Create(ctx, o.ID, invoice.Input{CustomerID: cus.ID, IssueDate: day,
				Lines: []invoice.LineInput{{Description: "work", Quantity: "1", UnitPrice: "10.00"}}})
			if err != nil {
				return err
			}
			if inv, err = invoices.Finalize(ctx, o.ID, inv.ID); err != nil {
				return err
			}
			id = inv.ID
			return log.Append(ctx, &audit.Entry{Tree: o.ID, Actor: audit.Actor{Type: audit.ActorSystem, ID: "test"},
				Action: "invoice.finalized", ObjectType: "invoice", ObjectID: inv.ID})
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	var old []string
	for range n {
		old = append(old, issue("2010-03-01"))
	}
	recent := issue(time.Now().UTC().Format(time.DateOnly))
	return st, o.ID, old, recent
}

// purgedCount counts the organization's invoice.purged audit entries by
// invoice.
func purgedCount(t *testing.T, st *sqlstore.Store, orgID string) map[string]int {
	t.Helper()
	es, err := st.ListAuditEntries(context.Background(), audit.Filter{Tree: orgID, Action: "invoice.purged", Params: page.Params{Limit: page.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range es {
		out[e.Entry.ObjectID]++
	}
	return out
}

func exists(t *testing.T, st *sqlstore.Store, orgID, id string) bool {
	t.Helper()
	_, err := st.GetInvoice(context.Background(), orgID, id, false)
	if err != nil && errs.KindOf(err) != errs.NotFound {
		t.Fatal(err)
	}
	return err == nil
}

// bursar purge --dry-run lists what is past retention and changes
// nothing; bursar purge removes it, records it, and the log verifies.
func TestPurgeCommand(t *testing.T) {
	ctx := context.Background()
	sf := storeFlags{dataDir: t.TempDir()}
	st, orgID, old, recent := seedRetention(t, sf, 2)
	var out, errOut bytes.Buffer
	io := stdio{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}

	if code := run(ctx, io, []string{"purge", "--dry-run", "--data-dir", sf.dataDir}); code != 0 {
		t.Fatalf("purge --dry-run = %d: %s", code, errOut.String())
	}
	var report privacy.PurgeReport
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("purge --dry-run printed %q: %v", out.String(), err)
	}
	if report.OrgID != orgID || len(report.Units) != 2 {
		t.Errorf("purge --dry-run reported %+v, want the 2 old invoices of %s", report, orgID)
	}
	if !strings.Contains(errOut.String(), "would purge 2 invoices") {
		t.Errorf("purge --dry-run said %q, want it to say it would purge 2", errOut.String())
	}
	for _, id := range append(old, recent) {
		if !exists(t, st, orgID, id) {
			t.Errorf("purge --dry-run removed %s", id)
		}
	}
	if n := len(purgedCount(t, st, orgID)); n != 0 {
		t.Errorf("purge --dry-run appended %d invoice.purged entries", n)
	}

	out.Reset()
	errOut.Reset()
	if code := run(ctx, io, []string{"purge", "--data-dir", sf.dataDir}); code != 0 {
		t.Fatalf("purge = %d: %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "purged 2 invoices") {
		t.Errorf("purge said %q", errOut.String())
	}
	for _, id := range old {
		if exists(t, st, orgID, id) {
			t.Errorf("purge kept %s, issued in 2010", id)
		}
	}
	if !exists(t, st, orgID, recent) {
		t.Errorf("purge removed %s, issued today", recent)
	}
	if got := purgedCount(t, st, orgID); len(got) != 2 {
		t.Errorf("invoice.purged entries = %v, want one per old invoice", got)
	}
	out.Reset()
	if code := run(ctx, io, []string{"audit", "verify", "--data-dir", sf.dataDir}); code != 0 || !strings.Contains(out.String(), "audit log intact") {
		t.Errorf("audit verify after the purge = %d: %s %s", code, out.String(), errOut.String())
	}
}

// bursar serve purges on its own every --purge-interval: one process on
// SQLite, and two replicas on one PostgreSQL, which take turns so that
// every invoice is purged and recorded once.
func TestServePurgesPeriodically(t *testing.T) {
	for _, tc := range []struct {
		name     string
		postgres bool
		replicas int
	}{
		{"sqlite", false, 1},
		{"postgres", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf := storeFlags{dataDir: t.TempDir()}
			args := []string{"--data-dir", sf.dataDir, "--purge-interval", "100ms"}
			if tc.postgres {
				sf.databaseURL = pgtest.URL(t)
				args = append(args, "--database-url", sf.databaseURL)
			}
			st, orgID, old, recent := seedRetention(t, sf, 30)
			var procs []*proc
			for range tc.replicas {
				procs = append(procs, startServe(t, args...))
			}
			deadline := time.Now().Add(30 * time.Second)
			for len(purgedCount(t, st, orgID)) < len(old) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // some more ticks, which must find nothing left
			for _, p := range procs {
				if err := p.stop(t); err != nil {
					t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
				}
			}
			got := purgedCount(t, st, orgID)
			for _, id := range old {
				if exists(t, st, orgID, id) || got[id] != 1 {
					t.Errorf("invoice %s of 2010: exists %v, recorded purged %d times; want gone, once", id, exists(t, st, orgID, id), got[id])
				}
			}
			if !exists(t, st, orgID, recent) {
				t.Errorf("serve purged %s, issued today", recent)
			}
			if len(got) != len(old) {
				t.Errorf("%d invoices recorded purged, want %d", len(got), len(old))
			}
			var out, errOut bytes.Buffer
			io := stdio{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
			verify := append([]string{"audit", "verify"}, args[:2]...)
			if tc.postgres {
				verify = append(verify, "--database-url", sf.databaseURL)
			}
			if code := run(context.Background(), io, verify); code != 0 || !strings.Contains(out.String(), "audit log intact") {
				t.Errorf("audit verify = %d: %s %s", code, out.String(), errOut.String())
			}
			if !strings.Contains(procs[0].stderr.String()+procs[len(procs)-1].stderr.String(), "purged documents past retention") {
				t.Errorf("no replica logged its purge:\n%s", procs[0].stderr.String())
			}
		})
	}
}

// --purge-interval refuses a negative duration.
func TestServePurgeIntervalFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	io := stdio{stdout: &out, stderr: &errOut, getenv: func(k string) string {
		if k == "BURSAR_PURGE_INTERVAL" {
			return "-1h"
		}
		return ""
	}}
	if code := run(context.Background(), io, []string{"serve", "--data-dir", t.TempDir()}); code != 2 || !strings.Contains(errOut.String(), "BURSAR_PURGE_INTERVAL") {
		t.Errorf("serve with BURSAR_PURGE_INTERVAL=-1h = %d: %s, want 2 naming the variable", code, errOut.String())
	}
}
