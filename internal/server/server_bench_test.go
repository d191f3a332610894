package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar/internal/auth"
	"bursar/internal/org"
	"bursar/internal/server"
	"bursar/internal/store/pgtest"
	"bursar/internal/store/postgres"
	"bursar/internal/store/sqlite"
	"bursar/internal/store/sqlstore"
	"bursar/internal/vault"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// BenchmarkGetInvoice measures the server's whole handler chain for GET
// /v1/invoices/{id} on each store, without the network, to find where a
// request's time goes (go test -bench GetInvoice -cpuprofile ...). One
// client at a time: the difference between the stores is what a read
// costs in process (SQLite) or over a connection (PostgreSQL).
func BenchmarkGetInvoice(b *testing.B) {
	ctx := context.Background()
	// Sealed as bursar serve runs: the buyer and seller snapshots are
	// opened on a cache miss only.
	kek, err := vault.EphemeralKEK()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("store=sqlite", func(b *testing.B) {
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bursar.db"), sqlstore.WithKEK(kek))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchmarkGetInvoice(b, st)
	})
	b.Run("store=postgres", func(b *testing.B) {
		st, err := postgres.Open(ctx, pgtest.URL(b), sqlstore.WithKEK(kek))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchmarkGetInvoice(b, st)
	})
}

func benchmarkGetInvoice(b *testing.B, st *sqlstore.Store) {
	ctx := context.Background()
	o, err := org.New(org.Input{Name: "Bench", DefaultCurrency: "EUR"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := st.InsertOrganization(ctx, o); err != nil {
		b.Fatal(err)
	}
	_, key, err := (&auth.Service{Store: st, Now: time.Now}).CreateAPIKey(ctx, o.ID, "bench", []string{auth.FullAccess}, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := server.New(server.Config{Guard: server.GuardConfig{DisableRateLimits: true}}, st, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now).Handler()
	call := func(method, path, body string) map[string]any {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			b.Fatal(err)
		}
		return m
	}
	cus := call("POST", "/v1/customers", `{"name":"Bench Buyer","currency":"EUR","email":"buyer@example.com","tax_id":"DE123456789","address":{"line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"DE"}}`)
	tax := call("POST", "/v1/tax-rates", `{"name":"VAT","percentage":"19","category":"S"}`)
	var lines []string
	for i := range 5 {
		lines = append(lines, fmt.Sprintf(`{"description":"Item %d","quantity":"%d","unit_price":"12.34","tax_rate_ids":[%q]}`, i, i+1, tax["id"]))
	}
	inv := call("POST", "/v1/invoices", fmt.Sprintf(`{"customer_id":%q,"lines":[%s]}`, cus["id"], strings.Join(lines, ",")))
	path := "/v1/invoices/" + inv["id"].(string)
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	b.ReportAllocs()
	for b.Loop() {
		rec := &discardRecorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
		if rec.code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.code)
		}
	}
}

// discardRecorder is a ResponseWriter that keeps only the status.
type discardRecorder struct {
	header http.Header
	code   int
}

func (r *discardRecorder) Header() http.Header { return r.header }
func (r *discardRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *discardRecorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return len(p), nil
}
