package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar/internal/auth"
	"bursar/internal/guard"
	"bursar/internal/org"
	"bursar/internal/server"
	"bursar/internal/store/sqlite"
)

// lockedBuffer is a log destination that handlers may write concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// guardedServer is a server on a fresh SQLite store with one organization
// and a full-access API key.
func guardedServer(t testing.TB, cfg server.Config) (h http.Handler, key string, logs *lockedBuffer) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o, err := org.New(org.Input{Name: "Acme GmbH", DefaultCurrency: "EUR"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InsertOrganization(ctx, o); err != nil {
		t.Fatal(err)
	}
	_, key, err = (&auth.Service{Store: st, Now: time.Now}).CreateAPIKey(ctx, o.ID, "test", []string{auth.FullAccess}, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs = &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	return server.New(cfg, st, log, time.Now).Handler(), key, logs
}

// call sends a request as curl does and returns the response.
func call(h http.Handler, key, method, target, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	r.Header.Set("User-Agent", "curl/8.11.1")
	r.Header.Set("Accept", "*/*")
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const injection = "' OR 1=1--"

// The WAF stands in front of every route and of authentication: an attack
// gets a 403 problem document naming the request id, whether or not it
// carries a key, and is logged as a security event with the rules that
// caught it.
func TestWAFGuardsEveryRouteBeforeAuthentication(t *testing.T) {
	h, key, logs := guardedServer(t, server.Config{})
	for _, tt := range []struct{ name, key, target string }{
		{"API route without a key", "", "/v1/invoices?status=" + url.QueryEscape(injection)},
		{"API route with a key", key, "/v1/invoices?status=" + url.QueryEscape(injection)},
		{"health check", "", "/healthz?x=" + url.QueryEscape(injection)},
		{"unknown path", "", "/nowhere?x=" + url.QueryEscape(injection)},
	} {
		w := call(h, tt.key, "GET", tt.target, "")
		if w.Code != http.StatusForbidden || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %q, want a 403 problem", tt.name, w.Code, w.Header().Get("Content-Type"), w.Body.String())
			continue
		}
		var p struct {
			Type, Title, Detail, Code string
			Status                    int
			RequestID                 string `json:"request_id"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if p.Code != guard.CodeRequestBlocked || p.Status != 403 || p.Type != "about:blank" || p.Title != "Forbidden" || p.Detail == "" {
			t.Errorf("%s: problem %+v", tt.name, p)
		}
		if id := w.Header().Get("X-Request-Id"); p.RequestID == "" || p.RequestID != id {
			t.Errorf("%s: request_id %q, X-Request-Id %q; want the same id in both", tt.name, p.RequestID, id)
		}
		if !strings.Contains(logs.String(), "request_id="+p.RequestID) {
			t.Errorf("%s: no security event for %s in the log:\n%s", tt.name, p.RequestID, logs)
		}
	}
	if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "guard: request blocked by the WAF") ||
		!strings.Contains(got, "942100") || strings.Contains(got, "1=1") {
		t.Errorf("log %q: want warnings naming rule 942100 and not the attack itself", got)
	}
}

// Free text that reads like SQL is accepted in the notes, footer and line
// descriptions of an invoice and the notes of a customer, through the whole
// server.
func TestWAFPassesFreeTextThroughTheAPI(t *testing.T) {
	h, key, logs := guardedServer(t, server.Config{})
	const text = "SELECT the best option; drop by our office"
	w := call(h, key, "POST", "/v1/customers", `{"name": "Globex SARL", "currency": "EUR", "notes": "`+text+`"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create customer: %d %s", w.Code, w.Body)
	}
	var cus struct{ ID, Notes string }
	_ = json.Unmarshal(w.Body.Bytes(), &cus)
	w = call(h, key, "POST", "/v1/invoices", fmt.Sprintf(`{"customer_id": %q, "notes": %q, "footer": %q,
		"lines": [{"description": %q, "quantity": "8", "unit_price": "125.00"}]}`, cus.ID, text, text, text))
	if w.Code != http.StatusCreated {
		t.Fatalf("create invoice: %d %s", w.Code, w.Body)
	}
	var inv struct {
		Notes, Footer string
		Lines         []struct{ Description string }
	}
	_ = json.Unmarshal(w.Body.Bytes(), &inv)
	if cus.Notes != text || inv.Notes != text || inv.Footer != text || len(inv.Lines) != 1 || inv.Lines[0].Description != text {
		t.Errorf("stored text changed: customer %q, invoice %+v", cus.Notes, inv)
	}
	if strings.Contains(logs.String(), "guard:") {
		t.Errorf("security events for legitimate requests:\n%s", logs)
	}
}

// With the WAF off the same attack reaches authentication (and would reach
// the handler with a key); in detect mode it passes too, but is logged.
func TestWAFOffAndDetect(t *testing.T) {
	target := "/v1/invoices?status=" + url.QueryEscape(injection)
	h, _, logs := guardedServer(t, server.Config{WAF: guard.WAFOff})
	if w := call(h, "", "GET", target, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("WAF off: %d, want 401 from authentication", w.Code)
	}
	if strings.Contains(logs.String(), "guard:") {
		t.Errorf("WAF off logged a security event: %q", logs)
	}
	h, _, logs = guardedServer(t, server.Config{WAF: guard.WAFDetect})
	if w := call(h, "", "GET", target, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("WAF detect: %d, want 401 from authentication", w.Code)
	}
	if !strings.Contains(logs.String(), "detect mode") || !strings.Contains(logs.String(), "942100") {
		t.Errorf("WAF detect: log %q, want a detection naming 942100", logs)
	}
}

// BenchmarkWAF measures what the WAF costs a GET of an invoice with 20
// lines (a response of about 9 kB), with the WAF on and off in one run.
func BenchmarkWAF(b *testing.B) {
	for _, mode := range []guard.WAFMode{guard.WAFOff, guard.WAFOn} {
		b.Run(string(mode), func(b *testing.B) {
			// Rate limits off: the benchmark sends thousands of requests
			// from one address with one key.
			h, key, _ := guardedServer(b, server.Config{WAF: mode, Guard: server.GuardConfig{DisableRateLimits: true}})
			w := call(h, key, "POST", "/v1/customers", `{"name": "Globex SARL", "currency": "EUR"}`)
			var cus struct{ ID string }
			_ = json.Unmarshal(w.Body.Bytes(), &cus)
			var lines []string
			for i := range 20 {
				lines = append(lines, fmt.Sprintf(`{"description": "Consulting, week %d", "quantity": "%d", "unit": "HUR", "unit_price": "125.00"}`, i+1, i+1))
			}
			w = call(h, key, "POST", "/v1/invoices", fmt.Sprintf(`{"customer_id": %q, "lines": [%s]}`, cus.ID, strings.Join(lines, ",")))
			var inv struct{ ID string }
			if err := json.Unmarshal(w.Body.Bytes(), &inv); err != nil || w.Code != http.StatusCreated {
				b.Fatalf("create invoice: %d %s", w.Code, w.Body)
			}
			target := "/v1/invoices/" + inv.ID
			w = call(h, key, "GET", target, "")
			b.SetBytes(int64(w.Body.Len()))
			b.ReportAllocs()
			for b.Loop() {
				if w := call(h, key, "GET", target, ""); w.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", target, w.Code)
				}
			}
		})
	}
}
