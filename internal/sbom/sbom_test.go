package sbom

import (
	"runtime/debug"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "bursar", Version: "v1.2.3"},
		Deps: []*debug.Module{
			{Path: "github.com/jackc/pgx/v5", Version: "v5.12.0", Sum: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
			{Path: "example.com/old", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v2.0.0+incompatible", Sum: "h1://////////////////////////////////////////8="}},
			{Path: "example.com/local", Version: "v0.0.0", Replace: &debug.Module{Path: "../local"}},
		},
		Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}},
	}
	b, err := New(info, "test", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Metadata.Component.PURL, "pkg:golang/bursar@v1.2.3"; got != want {
		t.Errorf("main purl: got %q, want %q", got, want)
	}
	if got, want := b.Metadata.Timestamp, "2026-01-02T03:04:05Z"; got != want {
		t.Errorf("timestamp: got %q, want %q", got, want)
	}
	want := []struct{ name, version, purl, sha256 string }{
		{"stdlib", "v1.26.8", "pkg:golang/stdlib@v1.26.8", ""},
		{"github.com/jackc/pgx/v5", "v5.12.0", "pkg:golang/github.com/jackc/pgx/v5@v5.12.0", "0000000000000000000000000000000000000000000000000000000000000000"},
		// A replaced module is described by what was compiled: the fork.
		{"example.com/fork", "v2.0.0+incompatible", "pkg:golang/example.com/fork@v2.0.0%2Bincompatible", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		// A local directory has no version and no hash; the path is escaped.
		{"../local", "", "pkg:golang/../local", ""},
	}
	if len(b.Components) != len(want) {
		t.Fatalf("components: got %d, want %d: %+v", len(b.Components), len(want), b.Components)
	}
	for i, w := range want {
		c := b.Components[i]
		if c.Name != w.name || c.Version != w.version || c.PURL != w.purl || c.BOMRef != w.purl {
			t.Errorf("component %d: got %s %s %s %s, want %s %s %s", i, c.Name, c.Version, c.PURL, c.BOMRef, w.name, w.version, w.purl)
		}
		var got string
		if len(c.Hashes) == 1 && c.Hashes[0].Alg == "SHA-256" {
			got = c.Hashes[0].Content
		}
		if got != w.sha256 || (w.sha256 == "" && len(c.Hashes) != 0) {
			t.Errorf("%s: hashes got %+v, want SHA-256 %q", w.name, c.Hashes, w.sha256)
		}
	}
	if len(b.Dependencies) != 1 || len(b.Dependencies[0].DependsOn) != len(want) {
		t.Errorf("dependencies: got %+v", b.Dependencies)
	}
	if len(b.Metadata.Properties) != 1 || b.Metadata.Properties[0].Name != "go:build:GOOS" {
		t.Errorf("properties: got %+v", b.Metadata.Properties)
	}
}

func TestNewDevelMainModule(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Path: "bursar", Version: "(devel)"}}
	b, err := New(info, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c := b.Metadata.Component; c.Version != "" || c.PURL != "pkg:golang/bursar" {
		t.Errorf("main module built as (devel): got version %q purl %q, want no version", c.Version, c.PURL)
	}
}

func TestNewRefusesNoMainModule(t *testing.T) {
	if _, err := New(&debug.BuildInfo{}, "test", time.Now()); err == nil {
		t.Error("New without a main module: got no error")
	}
}
