package auth

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	asvsDoc  = "../../docs/security/asvs.md"
	repoRoot = "../.."
)

// asvsLevel12 is every level-1 and level-2 requirement of ASVS 5.0 V6, V7
// and V8 with its level: docs/security/asvs.md must give each a status.
var asvsLevel12 = map[string]string{
	"6.1.1": "1", "6.1.2": "2", "6.1.3": "2",
	"6.2.1": "1", "6.2.2": "1", "6.2.3": "1", "6.2.4": "1", "6.2.5": "1", "6.2.6": "1", "6.2.7": "1", "6.2.8": "1",
	"6.2.9": "2", "6.2.10": "2", "6.2.11": "2", "6.2.12": "2",
	"6.3.1": "1", "6.3.2": "1", "6.3.3": "2", "6.3.4": "2",
	"6.4.1": "1", "6.4.2": "1", "6.4.3": "2", "6.4.4": "2",
	"6.5.1": "2", "6.5.2": "2", "6.5.3": "2", "6.5.4": "2", "6.5.5": "2",
	"6.6.1": "2", "6.6.2": "2", "6.6.3": "2",
	"6.8.1": "2", "6.8.2": "2", "6.8.3": "2", "6.8.4": "2",
	"7.1.1": "2", "7.1.2": "2", "7.1.3": "2",
	"7.2.1": "1", "7.2.2": "1", "7.2.3": "1", "7.2.4": "1",
	"7.3.1": "2", "7.3.2": "2",
	"7.4.1": "1", "7.4.2": "1", "7.4.3": "2", "7.4.4": "2", "7.4.5": "2",
	"7.5.1": "2", "7.5.2": "2",
	"7.6.1": "2", "7.6.2": "2",
	"8.1.1": "1", "8.1.2": "2",
	"8.2.1": "1", "8.2.2": "1", "8.2.3": "2",
	"8.3.1": "1",
	"8.4.1": "2",
}

var (
	asvsRow      = regexp.MustCompile(`^\| ([678]\.\d+\.\d+) \|(.*)\| (\d) \| (.*) \|$`)
	testName     = regexp.MustCompile("`(Test[A-Za-z0-9_]+)`")
	testFunc     = regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(`)
	asvsTestFunc = regexp.MustCompile(`^TestASVS_([678])_(\d+)_(\d+)_`)
)

// repoTests is the name of every test function of the repository.
func repoTests(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != repoRoot && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bursar-data") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestASVSDocument holds docs/security/asvs.md to the code: every level-1
// and level-2 requirement of V6, V7 and V8 has one row with its level and
// a status; a row that says "tested" names tests; every test the page
// names exists; and every TestASVS_6/7/8 test of the repository is named
// on the page, under a requirement that exists.
func TestASVSDocument(t *testing.T) {
	doc, err := os.ReadFile(asvsDoc)
	if err != nil {
		t.Fatal(err)
	}
	tests := repoTests(t)
	rows := map[string]bool{}
	for i, line := range strings.Split(string(doc), "\n") {
		m := asvsRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		id, level, status := m[1], m[3], m[4]
		want, ok := asvsLevel12[id]
		switch {
		case !ok:
			t.Errorf("%s:%d: %s is not a level-1 or level-2 requirement of V6, V7 or V8", asvsDoc, i+1, id)
		case rows[id]:
			t.Errorf("%s:%d: %s has a second row", asvsDoc, i+1, id)
		case level != want:
			t.Errorf("%s:%d: %s is level %s, not %s", asvsDoc, i+1, id, want, level)
		}
		rows[id] = true
		kind, _, _ := strings.Cut(status, ":")
		if !slices.Contains([]string{"tested", "documented", "not applicable", "gap"}, kind) {
			t.Errorf("%s:%d: %s: status %q, want tested, documented, not applicable or gap, then a colon", asvsDoc, i+1, id, kind)
		}
		if kind == "tested" && !testName.MatchString(status) {
			t.Errorf("%s:%d: %s says tested and names no test", asvsDoc, i+1, id)
		}
	}
	for id := range asvsLevel12 {
		if !rows[id] {
			t.Errorf("%s: no row for %s", asvsDoc, id)
		}
	}
	named := map[string]bool{}
	for _, m := range testName.FindAllStringSubmatch(string(doc), -1) {
		named[m[1]] = true
		if !tests[m[1]] {
			t.Errorf("%s names %s, and no _test.go file has func %s(", asvsDoc, m[1], m[1])
		}
	}
	for name := range tests {
		m := asvsTestFunc.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		id := m[1] + "." + m[2] + "." + m[3]
		if _, ok := asvsLevel12[id]; !ok && !knownLevel3(id) {
			t.Errorf("%s cites %s, which is no ASVS 5.0 V6, V7 or V8 requirement", name, id)
		}
		if !named[name] {
			t.Errorf("%s is not named in %s", name, asvsDoc)
		}
	}
}

// knownLevel3 reports whether id is a level-3 requirement of V6, V7 or V8,
// which tests may prove beyond what the page must list.
func knownLevel3(id string) bool {
	return slices.Contains([]string{"6.3.5", "6.3.6", "6.3.7", "6.3.8", "6.4.5", "6.4.6", "6.5.6", "6.5.7", "6.5.8",
		"6.6.4", "6.7.1", "6.7.2", "7.5.3", "8.1.3", "8.1.4", "8.2.4", "8.3.2", "8.3.3", "8.4.2"}, id)
}

// TestASVS_6_5_3_SecretsFromCSPRNG: no code of internal/auth (passwords,
// sessions, API keys, MFA) imports math/rand, the packages that draw
// secrets import crypto/rand, and nothing outside tests replaces the MFA
// service's source (mfa.Service.Rand, nil meaning crypto/rand) by another.
func TestASVS_6_5_3_SecretsFromCSPRNG(t *testing.T) {
	cryptoRand := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "math/rand") {
				t.Errorf("%s imports %s", path, p)
			}
			if p == "crypto/rand" {
				cryptoRand[filepath.Dir(path)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{".", "mfa", "password"} {
		if !cryptoRand[dir] {
			t.Errorf("internal/auth/%s does not draw from crypto/rand", dir)
		}
	}
	setRand := regexp.MustCompile(`\bRand:\s|\.Rand\s*=`)
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != repoRoot && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "mfatest") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if setRand.Match(b) {
			t.Errorf("%s sets a Rand: secrets must come from crypto/rand", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
