package postgres

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"bursar/internal/customer"
	"bursar/internal/ident"
	"bursar/internal/invoice"
	"bursar/internal/money"
	"bursar/internal/org"
	"bursar/internal/store/pgtest"
	"bursar/internal/store/sqlstore"
)

// versionFixture is a store with one organization's invoices at known
// versions, and a second organization.
type versionFixture struct {
	url      string
	st       *sqlstore.Store
	org      string
	other    string
	versions map[string]int // invoice id -> stored version
}

func newVersionFixture(t *testing.T) *versionFixture {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	st, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	f := &versionFixture{url: url, st: st, versions: map[string]int{}}
	for i, name := range []string{"Acme GmbH", "Globex SARL"} {
		o, err := org.New(org.Input{Name: name, DefaultCurrency: "EUR"}, now)
		if err != nil {
			t.Fatal(err)
		}
		c := &customer.Customer{ID: ident.New("cus", now), OrgID: o.ID, Name: "Buyer", Currency: "EUR", CreatedAt: now, UpdatedAt: now}
		if err := st.InsertOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
		if err := st.InsertCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			f.other = o.ID
			break
		}
		f.org = o.ID
		zero := money.MustParse("0.00")
		for n := range 5 {
			inv := &invoice.Invoice{ID: ident.New("inv", now), OrgID: o.ID, Status: invoice.StatusDraft, CustomerID: c.ID,
				Buyer: invoice.Buyer{CustomerID: c.ID, Name: c.Name}, CreatedAt: now, UpdatedAt: now,
				AmountPaid: zero, AmountCredited: zero, CreditApplied: zero}
			inv.Document = invoice.Document{Currency: "EUR", Totals: invoice.Totals{LinesNet: zero, Allowances: zero, Charges: zero,
				TaxExclusive: zero, Tax: zero, TaxInclusive: zero, Paid: zero, Rounding: zero, Due: zero}}
			if err := st.InsertInvoice(ctx, inv); err != nil {
				t.Fatal(err)
			}
			for range n { // invoice n is at version n
				if err := st.UpdateInvoice(ctx, inv); err != nil {
					t.Fatal(err)
				}
			}
			f.versions[inv.ID] = inv.Version
		}
	}
	return f
}

// up waits until r answers over its pipeline, and returns the pipeline.
func up(t *testing.T, r *versionReads, f *versionFixture) *pipeline {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for id := range f.versions {
			if _, _, ok := r.ReadVersion(context.Background(), f.org, id); ok {
				r.mu.Lock()
				defer r.mu.Unlock()
				return r.p
			}
			break
		}
	}
	t.Fatal("the pipeline did not come up within 30s")
	return nil
}

// Reads over the pipeline answer what the pool answers, from many
// goroutines at once: the stored version, not found for another
// organization's id or a missing one.
func TestVersionReadsAnswerAsThePool(t *testing.T) {
	f := newVersionFixture(t)
	r := newVersionReads(f.url)
	defer r.Close()
	up(t, r, f)

	ctx := context.Background()
	missing := ident.New("inv", time.Now())
	var wg sync.WaitGroup
	var mu sync.Mutex
	piped := 0
	for g := range 16 {
		wg.Go(func() {
			for n := range 200 {
				for id, want := range f.versions {
					if (n+g)%5 != want {
						continue
					}
					v, found, ok := r.ReadVersion(ctx, f.org, id)
					if ok && (!found || v != want) {
						t.Errorf("ReadVersion(%s) = %d, %v; want %d", id, v, found, want)
						return
					}
					if _, found, ok := r.ReadVersion(ctx, f.other, id); ok && found {
						t.Errorf("another organization read invoice %s", id)
						return
					}
					if ok {
						mu.Lock()
						piped++
						mu.Unlock()
					}
				}
				if _, found, ok := r.ReadVersion(ctx, f.org, missing); ok && found {
					t.Errorf("a missing invoice was found")
					return
				}
			}
		})
	}
	wg.Wait()
	// With 16 readers, fewer than maxPending wait at once: every read
	// went over the pipeline.
	if piped != 16*200 {
		t.Errorf("%d of %d reads answered over the pipeline", piped, 16*200)
	}
}

// A lost connection makes reads fall back to the pool until a new one is
// made; the store's answers never change.
func TestVersionReadsSurviveALostConnection(t *testing.T) {
	f := newVersionFixture(t)
	r := newVersionReads(f.url)
	r.retry = 50 * time.Millisecond
	db, err := sql.Open("pgx", f.url)
	if err != nil {
		t.Fatal(err)
	}
	st := sqlstore.New(db, Dialect(), sqlstore.WithVersionReader(r))
	defer st.Close()
	first := up(t, r, f)

	ctx := context.Background()
	var killed int
	if err := db.QueryRowContext(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
		versionReadsApp).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d backends, %v; want the pipeline's one", killed, err)
	}
	for id, want := range f.versions {
		for range 20 {
			if v, err := st.InvoiceVersion(ctx, f.org, id); err != nil || v != want {
				t.Fatalf("InvoiceVersion(%s) after the connection was lost = %d, %v; want %d", id, v, err, want)
			}
		}
	}
	if p := up(t, r, f); p == first {
		t.Error("the pipeline answers again, but over the connection that was lost")
	}
	if !first.dead() {
		t.Error("the lost pipeline is not marked dead")
	}
}

// A server that forgets the prepared statement between two reads (a
// pooler in transaction mode) turns the pipeline off, and reads go to the
// pool from then on.
func TestVersionReadsTurnOffWithoutTheirStatement(t *testing.T) {
	f := newVersionFixture(t)
	r := newVersionReads(f.url)
	db, err := sql.Open("pgx", f.url)
	if err != nil {
		t.Fatal(err)
	}
	st := sqlstore.New(db, Dialect(), sqlstore.WithVersionReader(r))
	defer st.Close()
	p := up(t, r, f)

	// Drop the statement on the pipeline's own session, as a pooler would
	// hand the next read to a session that never prepared it. The answer
	// to the DEALLOCATE goes to a read no one waits for.
	dropped := &versionResult{done: make(chan struct{})}
	p.mu.Lock()
	p.out, _ = (&pgproto3.Query{String: "DEALLOCATE " + versionStatement}).Encode(p.out)
	p.waiting = append(p.waiting, dropped)
	p.mu.Unlock()
	ctx := context.Background()
	var id string
	var want int
	for id, want = range f.versions {
		break
	}
	if v, err := st.InvoiceVersion(ctx, f.org, id); err != nil || v != want {
		t.Fatalf("InvoiceVersion without the statement = %d, %v; want %d", v, err, want)
	}
	<-dropped.done
	if !r.off {
		t.Fatal("the pipeline stays on without its statement")
	}
	if _, _, ok := r.ReadVersion(ctx, f.org, id); ok {
		t.Error("a read went over the pipeline after it was turned off")
	}
	if v, err := st.InvoiceVersion(ctx, f.org, id); err != nil || v != want {
		t.Errorf("InvoiceVersion from the pool = %d, %v; want %d", v, err, want)
	}
}

// Close ends the pipeline and its reader; reads then go to the pool.
func TestVersionReadsClose(t *testing.T) {
	f := newVersionFixture(t)
	r := newVersionReads(f.url)
	p := up(t, r, f)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.finished:
	case <-time.After(10 * time.Second):
		t.Fatal("the pipeline's reader still runs after Close")
	}
	for id := range f.versions {
		if _, _, ok := r.ReadVersion(context.Background(), f.org, id); ok {
			t.Error("a read went over the pipeline after Close")
		}
	}
}

// An error from the server ends the connection (a key lookup has no error
// of its own: the session's state is at fault), and a new one is made.
func TestVersionReadsReconnectAfterAServerError(t *testing.T) {
	f := newVersionFixture(t)
	r := newVersionReads(f.url)
	r.retry = 50 * time.Millisecond
	defer r.Close()
	p := up(t, r, f)

	failing := &versionResult{done: make(chan struct{})}
	p.mu.Lock()
	p.out, _ = (&pgproto3.Query{String: "SELECT 1/0"}).Encode(p.out)
	p.waiting = append(p.waiting, failing)
	p.mu.Unlock()
	for id := range f.versions {
		r.ReadVersion(context.Background(), f.org, id) // writes the failing query out
		break
	}
	<-failing.done
	if failing.ok {
		t.Error("a read that failed on the server answered ok")
	}
	select {
	case <-p.finished:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection goes on after a server error")
	}
	if r.off {
		t.Fatal("a server error other than a forgotten statement turned the pipeline off")
	}
	if next := up(t, r, f); next == p {
		t.Error("no new connection after the server error")
	}
}

// A caller that has written out its rounds leaves what gathered since to a
// goroutine of its own: the reads it leaves behind are still sent.
func TestVersionReadsWriterHandsOver(t *testing.T) {
	f := newVersionFixture(t)
	r := newVersionReads(f.url)
	defer r.Close()
	p := up(t, r, f)

	// Another caller is writing: this read's bytes are only gathered.
	p.mu.Lock()
	p.writing = true
	p.mu.Unlock()
	var id string
	var want int
	for id, want = range f.versions {
		break
	}
	type answer struct {
		v         int
		found, ok bool
	}
	got := make(chan answer, 1)
	go func() {
		v, found, ok := r.ReadVersion(context.Background(), f.org, id)
		got <- answer{v, found, ok}
	}()
	for gathered := false; !gathered; time.Sleep(time.Millisecond) {
		p.mu.Lock()
		gathered = len(p.waiting) == 1
		p.mu.Unlock()
	}
	// The writer at work has no rounds left: it must hand over, not drop.
	p.writeOut(0)
	select {
	case a := <-got:
		if !a.ok || !a.found || a.v != want {
			t.Errorf("ReadVersion after the hand-over = %+v; want version %d over the pipeline", a, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a read gathered by a writer out of rounds was never sent")
	}
	// The goroutine clears writing after its write, which the answer may
	// overtake.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		p.mu.Lock()
		writing, unsent := p.writing, len(p.out)
		p.mu.Unlock()
		if !writing && unsent == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the hand-over: writing %v, %d bytes unsent", writing, unsent)
		}
	}
}
