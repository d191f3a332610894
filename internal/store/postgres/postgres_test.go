package postgres_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"bursar/internal/store/pgtest"
	"bursar/internal/store/postgres"
	"bursar/internal/store/sqlstore"
	"bursar/internal/store/storetest"
	"bursar/internal/vault"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T) *sqlstore.Store {
	t.Helper()
	kek, err := vault.EphemeralKEK()
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

// TestConcurrentMigrations opens one empty database from several stores at
// once, as replicas starting together do: the advisory lock lets one
// migrate and the others find the work done.
func TestConcurrentMigrations(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := postgres.Open(context.Background(), url)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestNoFloatingPoint keeps floating point types out of the schema.
func TestNoFloatingPoint(t *testing.T) { storetest.NoFloatingPoint(t, os.DirFS("migrations")) }

func TestVaultRotation(t *testing.T) { storetest.Rotation(t, open(t)) }

// TestSealedAtRest dumps every table of the database as text: no personal
// value of the test may be found in it.
func TestSealedAtRest(t *testing.T) {
	st := open(t)
	storetest.SealedAtRest(t, st, func(t *testing.T) []byte {
		ctx := context.Background()
		rows, err := st.DB().QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, n)
		}
		rows.Close()
		var all []byte
		for _, tb := range tables {
			rs, err := st.DB().QueryContext(ctx, "SELECT t::text FROM "+pq(tb)+" AS t")
			if err != nil {
				t.Fatal(err)
			}
			for rs.Next() {
				var s string
				if err := rs.Scan(&s); err != nil {
					t.Fatal(err)
				}
				all = append(all, s...)
				all = append(all, '\n')
			}
			rs.Close()
		}
		return all
	})
}

// pq quotes an identifier.
func pq(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func TestLegacyRows(t *testing.T) {
	url := pgtest.URL(t)
	plain, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	kek, err := vault.EphemeralKEK()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := postgres.Open(context.Background(), url, sqlstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sealed.Close() })
	storetest.LegacyRows(t, plain, sealed)
}
