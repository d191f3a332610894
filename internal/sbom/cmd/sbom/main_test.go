package main

import (
	"bytes"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSBOMOfBursarIsComplete builds the real bursar binary and checks that
// its SBOM lists every module of the binary's build info with name,
// version, purl and hash, and names the main module as the subject. The
// check reads the JSON generically, not through the package's types, so
// that a field the writer forgets cannot be forgotten by the check too.
func TestSBOMOfBursarIsComplete(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bursar")
	// The same flags and environment as `make build`, so that in CI, where
	// that build runs first, this one comes from the build cache.
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "bursar/cmd/bursar")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Deps) < 3 {
		t.Fatalf("build info lists %d modules; bursar links more, so the check would prove little", len(info.Deps))
	}
	out := filepath.Join(dir, "out", "sbom.cdx.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-out", out, bin}, &stdout, &stderr, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)); code != 0 {
		t.Fatalf("sbom: exit %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Serial      string `json:"serialNumber"`
		Metadata    struct {
			Timestamp string         `json:"timestamp"`
			Component map[string]any `json:"component"`
		} `json:"metadata"`
		Components []map[string]any `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" {
		t.Errorf("format: got %q %q, want CycloneDX 1.5", doc.BOMFormat, doc.SpecVersion)
	}
	if !strings.HasPrefix(doc.Serial, "urn:uuid:") || len(doc.Serial) != len("urn:uuid:")+36 {
		t.Errorf("serialNumber: got %q, want urn:uuid:<uuid>", doc.Serial)
	}
	if doc.Metadata.Timestamp != "2026-11-27T12:00:00Z" {
		t.Errorf("timestamp: got %q", doc.Metadata.Timestamp)
	}
	if got := doc.Metadata.Component["name"]; got != "bursar" || got != info.Main.Path {
		t.Errorf("metadata component name: got %v, want the main module %q", got, info.Main.Path)
	}
	if got := doc.Metadata.Component["type"]; got != "application" {
		t.Errorf("metadata component type: got %v, want application", got)
	}
	byName := map[string]map[string]any{}
	for _, c := range doc.Components {
		byName[c["name"].(string)] = c
	}
	for _, m := range info.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		c, ok := byName[m.Path]
		if !ok {
			t.Errorf("module %s %s: missing from the SBOM", m.Path, m.Version)
			continue
		}
		if c["version"] != m.Version {
			t.Errorf("%s: version got %v, want %s", m.Path, c["version"], m.Version)
		}
		if want := "pkg:golang/" + m.Path + "@" + m.Version; c["purl"] != want {
			t.Errorf("%s: purl got %v, want %s", m.Path, c["purl"], want)
		}
		if m.Sum == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(m.Sum, "h1:"))
		if err != nil {
			t.Fatalf("%s: sum %q: %v", m.Path, m.Sum, err)
		}
		hashes, _ := c["hashes"].([]any)
		found := false
		for _, h := range hashes {
			h := h.(map[string]any)
			if h["alg"] == "SHA-256" && h["content"] == hex.EncodeToString(raw) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: hashes got %v, want SHA-256 %x (from %s)", m.Path, hashes, raw, m.Sum)
		}
	}
	if _, ok := byName["stdlib"]; !ok {
		t.Errorf("the Go standard library (stdlib) is missing")
	}
	if want := len(info.Deps) + 1; len(doc.Components) != want {
		t.Errorf("components: got %d, want %d (every module and stdlib, nothing else)", len(doc.Components), want)
	}
}

func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no binary", nil, 2},
		{"two binaries", []string{"a", "b"}, 2},
		{"not a Go binary", []string{"main_test.go"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr, time.Now()); code != tc.code {
				t.Errorf("exit code: got %d, want %d (%s)", code, tc.code, stderr.String())
			}
		})
	}
}
