package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// `bursar ip deny` on the database of a running server makes it refuse the
// network within the rules' cache time, and `bursar ip remove` lets it in
// again. The server trusts the test as its proxy, so that the test can
// speak for an address other than loopback.
func TestIPDenyBlocksARunningServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServe(t, "--data-dir", dir, "--trusted-proxies", "127.0.0.1")
	get := func(from string) (int, string) {
		req, err := http.NewRequest("GET", p.base+"/v1/openapi.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode == 403 && body.RequestID == "" {
			t.Errorf("403 without a request id")
		}
		return resp.StatusCode, body.Code
	}
	if status, _ := get("203.0.113.7"); status != 200 {
		t.Fatalf("before the rule: status %d, want 200", status)
	}

	id, stderr := bursar(t, "ip", "deny", "203.0.113.0/24", "--note", "e2e scanner", "--data-dir", dir)
	id = strings.TrimSpace(id)
	if !strings.HasPrefix(id, "ipr_") || !strings.Contains(stderr, "deny 203.0.113.0/24") {
		t.Fatalf("ip deny printed %q, %q; want a rule id and a line naming the rule", id, stderr)
	}
	start := time.Now()
	for {
		status, code := get("203.0.113.7")
		if status == 403 && code == "address_denied" {
			break
		}
		if time.Since(start) > 7*time.Second {
			t.Fatalf("%s after ip deny the server still answers %d, want 403 address_denied within the 5s cache", time.Since(start), status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, _ := get("198.51.100.1"); status != 200 {
		t.Errorf("another address: status %d, want 200", status)
	}
	list, _ := bursar(t, "ip", "list", "--data-dir", dir)
	if !strings.Contains(list, id) || !strings.Contains(list, "e2e scanner") {
		t.Errorf("ip list = %q, want the rule with its note", list)
	}

	bursar(t, "ip", "remove", id, "--data-dir", dir)
	start = time.Now()
	for {
		if status, _ := get("203.0.113.7"); status == 200 {
			break
		}
		if time.Since(start) > 7*time.Second {
			t.Fatal("the server still refuses the address 7s after ip remove")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Both changes are in the audit log's system tree, which verifies.
	export, _ := bursar(t, "audit", "export", "--data-dir", dir, "--org", "system", "--since", "2000-01-01T00:00:00Z")
	for _, want := range []string{`"action":"ip_rule.created"`, `"action":"ip_rule.deleted"`, `"object_id":"` + id + `"`} {
		if !strings.Contains(export, want) {
			t.Errorf("the system tree's export lacks %s:\n%s", want, export)
		}
	}
	if out, _ := bursar(t, "audit", "verify", "--data-dir", dir); !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify: %q", out)
	}
}
