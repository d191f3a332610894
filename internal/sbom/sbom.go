// Package sbom writes a software bill of materials of a Go binary in
// CycloneDX 1.5 JSON, from the build information that the Go toolchain
// embeds in every binary it builds (runtime/debug.BuildInfo).
//
// The build information is the truth about what was linked: it lists
// exactly the modules compiled in, at their selected versions, with their
// go.sum hashes, and nothing that was only in go.mod. No generator module
// resolves on the project's proxy (cyclonedx-gomod is blocked), and the
// format is small, so it is written here.
package sbom

import (
	"crypto/rand"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// BOM is the subset of a CycloneDX 1.5 document that Bursar writes.
type BOM struct {
	BOMFormat    string       `json:"bomFormat"`
	SpecVersion  string       `json:"specVersion"`
	SerialNumber string       `json:"serialNumber"`
	Version      int          `json:"version"`
	Metadata     Metadata     `json:"metadata"`
	Components   []Component  `json:"components"`
	Dependencies []Dependency `json:"dependencies,omitempty"`
}

// Metadata names the subject of the BOM (the main module) and when and
// by what it was made.
type Metadata struct {
	Timestamp  string     `json:"timestamp"`
	Tools      *Tools     `json:"tools,omitempty"`
	Component  Component  `json:"component"`
	Properties []Property `json:"properties,omitempty"`
}

// Tools lists the tools that made the BOM (the CycloneDX 1.5 form).
type Tools struct {
	Components []Component `json:"components"`
}

// Component is a module, the Go standard library, or the application.
type Component struct {
	Type    string `json:"type"`
	BOMRef  string `json:"bom-ref,omitempty"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	PURL    string `json:"purl,omitempty"`
	Hashes  []Hash `json:"hashes,omitempty"`
}

// Hash is a digest of a component.
type Hash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

// Property is a name and value pair.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Dependency says which components a component depends on.
type Dependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn,omitempty"`
}

// ReadBinary returns the build information embedded in the Go binary at
// path.
func ReadBinary(path string) (*debug.BuildInfo, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: read build info of %s: %w", path, err)
	}
	return info, nil
}

// New builds the BOM of a binary from its build information. tool names
// the program that writes it, now stamps it.
func New(info *debug.BuildInfo, tool string, now time.Time) (*BOM, error) {
	if info == nil || info.Main.Path == "" {
		return nil, fmt.Errorf("sbom: the binary has no main module in its build info (built with go run or without module mode?)")
	}
	serial, err := uuid4()
	if err != nil {
		return nil, err
	}
	main := component("application", &info.Main)
	b := &BOM{
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.5",
		SerialNumber: "urn:uuid:" + serial,
		Version:      1,
		Metadata: Metadata{
			Timestamp: now.UTC().Format(time.RFC3339),
			Tools:     &Tools{Components: []Component{{Type: "application", Name: tool}}},
			Component: main,
		},
		Components: []Component{},
	}
	for _, s := range info.Settings {
		// The build settings (GOOS, GOARCH, CGO_ENABLED, -trimpath, the
		// VCS revision) say how to reproduce the binary.
		b.Metadata.Properties = append(b.Metadata.Properties, Property{Name: "go:build:" + s.Key, Value: s.Value})
	}
	deps := Dependency{Ref: main.BOMRef}
	if info.GoVersion != "" {
		// The standard library is linked in too, and vulnerability
		// databases list it as the module "stdlib".
		v := "v" + strings.TrimPrefix(strings.Fields(info.GoVersion)[0], "go")
		std := Component{Type: "library", Name: "stdlib", Version: v, PURL: purl("stdlib", v)}
		std.BOMRef = std.PURL
		b.Components = append(b.Components, std)
		deps.DependsOn = append(deps.DependsOn, std.BOMRef)
	}
	for _, m := range info.Deps {
		c := component("library", m)
		b.Components = append(b.Components, c)
		deps.DependsOn = append(deps.DependsOn, c.BOMRef)
	}
	b.Dependencies = []Dependency{deps}
	return b, nil
}

// component describes one module; a replaced module is described by its
// replacement, which is what was compiled.
func component(typ string, m *debug.Module) Component {
	if m.Replace != nil {
		m = m.Replace
	}
	v := m.Version
	if v == "(devel)" {
		// A main module built from a checkout without a version tag (or
		// with -buildvcs=false) has no version; the build properties carry
		// the revision when there is one.
		v = ""
	}
	c := Component{Type: typ, Name: m.Path, Version: v, PURL: purl(m.Path, v)}
	c.BOMRef = c.PURL
	if h, ok := sha256FromH1(m.Sum); ok {
		c.Hashes = []Hash{{Alg: "SHA-256", Content: h}}
	}
	return c
}

// sha256FromH1 turns a go.sum hash ("h1:" and base64) into hex. The h1
// hash is the SHA-256 of the module's file tree summary (golang.org/x/mod
// dirhash Hash1), so SHA-256 is the right algorithm name for it.
func sha256FromH1(sum string) (string, bool) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	return hex.EncodeToString(raw), true
}

// purl is the package URL of a Go module (type "golang"), its path
// segments and version percent-encoded as the purl specification asks.
func purl(path, version string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" {
		p += "@" + escape(version)
	}
	return p
}

func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// uuid4 returns a random (version 4) UUID for the BOM's serial number.
func uuid4() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("sbom: serial number: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
