package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bursar/internal/store/pgtest"
)

// binPath is the bursar binary the end-to-end tests run, built once.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bursar-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "bursar")
	build := exec.Command("go", "build", "-race", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building bursar:", err)
		os.Exit(1)
	}
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running `bursar serve`.
type proc struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
	done   chan error
}

// syncBuffer is a buffer a process's output goroutine writes while a test
// may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe starts `bursar serve` with args and waits until /healthz answers.
func startServe(t *testing.T, args ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binPath, append([]string{"serve", "--addr", addr}, args...)...)
	var stderr syncBuffer
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, base: "http://" + addr, stderr: &stderr, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("bursar serve exited early: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("bursar serve did not become healthy")
	return nil
}

// stop sends SIGTERM and returns the exit error.
func (p *proc) stop(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(40 * time.Second):
		t.Fatal("bursar serve did not stop within 40s of SIGTERM")
	}
	return nil
}

// bursar runs the binary to completion and returns stdout; stderr is
// returned separately so a test can check it holds everything else.
func bursar(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("bursar %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// client calls the API with a key.
type client struct {
	t    *testing.T
	base string
	key  string
}

func (c client) do(method, path string, body any, want int) map[string]any {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return out
}

// The README's walk-through, against the real binary on SQLite: init,
// customer, tax rate, invoice, finalize, payment; then a graceful stop.
func TestReadmeWalkthrough(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, "--data-dir", dir)
	key, stderr := bursar(t, "admin", "init", "--data-dir", dir, "--org", "Acme GmbH", "--email", "owner@example.com", "--currency", "EUR", "--country", "DE")
	key = strings.TrimSpace(key)
	if strings.Contains(key, "\n") || !strings.HasPrefix(key, "bsk_") {
		t.Fatalf("admin init stdout = %q, want the API key alone", key)
	}
	if !strings.Contains(stderr, "created organization") {
		t.Errorf("admin init stderr = %q, want the report there", stderr)
	}
	resp, err := http.Get(p.base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /readyz = %v, %v; want 200", resp, err)
	}
	resp.Body.Close()
	c := client{t, p.base + "/v1", key}
	cus := c.do("POST", "/customers", map[string]any{"name": "Globex SARL", "email": "billing@globex.example", "currency": "EUR",
		"address": map[string]any{"line1": "1 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"},
		"tax_id":  "FR40303265045"}, 201)
	vat := c.do("POST", "/tax-rates", map[string]any{"name": "VAT 19%", "percentage": "19", "category": "S"}, 201)
	inv := c.do("POST", "/invoices", map[string]any{"customer_id": cus["id"], "currency": "EUR",
		"lines": []any{map[string]any{"description": "Consulting", "quantity": "8", "unit": "HUR", "unit_price": "125.00", "tax_rate_ids": []any{vat["id"]}}}}, 201)
	fin := c.do("POST", "/invoices/"+inv["id"].(string)+"/finalize", nil, 200)
	totals := fin["totals"].(map[string]any)
	if fin["status"] != "open" || totals["tax_exclusive"] != "1000.00" || totals["tax"] != "190.00" || totals["tax_inclusive"] != "1190.00" {
		t.Fatalf("finalized invoice = %v, want open with 1000.00 + 190.00 = 1190.00", fin)
	}
	if n, _ := fin["number"].(string); !strings.HasSuffix(n, "-00001") {
		t.Errorf("number = %q, want the first of its series", n)
	}
	paid := c.do("POST", "/invoices/"+inv["id"].(string)+"/payments", map[string]any{"amount": "1190.00", "method": "bank_transfer"}, 201)
	if got := paid["invoice"].(map[string]any)["status"]; got != "paid" {
		t.Errorf("status after payment = %v, want paid", got)
	}
	if err := p.stop(t); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
	}
}

// A SIGTERM during a burst of writes loses nothing that was acknowledged:
// every invoice answered 201 is there after a restart.
func TestShutdownKeepsEveryAcknowledgedWrite(t *testing.T) {
	dir := t.TempDir()
	key, _ := bursar(t, "admin", "init", "--data-dir", dir, "--org", "Acme", "--email", "o@example.com")
	key = strings.TrimSpace(key)
	p := startServe(t, "--data-dir", dir)
	c := client{t, p.base + "/v1", key}
	cus := c.do("POST", "/customers", map[string]any{"name": "Buyer"}, 201)

	var mu sync.Mutex
	var created []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"customer_id": cus["id"], "lines": []any{map[string]any{"description": "x", "quantity": "1", "unit_price": "1.00"}}})
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", c.base+"/invoices", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server has gone away
				}
				var out map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					mu.Lock()
					created = append(created, out["id"].(string))
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	if err := p.stop(t); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
	}
	close(stop)
	wg.Wait()
	if len(created) == 0 {
		t.Fatal("no invoice was created before the shutdown; the test proves nothing")
	}
	p2 := startServe(t, "--data-dir", dir)
	c.base = p2.base + "/v1"
	for _, id := range created {
		c.do("GET", "/invoices/"+id, nil, 200)
	}
	t.Logf("%d acknowledged invoices all present after restart", len(created))
}
