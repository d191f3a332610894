package auth

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/security/permissions.md's matrix from Permissions")

const (
	matrixBegin = "<!-- begin: matrix generated from internal/auth/roles.go by go test ./internal/auth -run TestPermissionsDocument -update -->\n"
	matrixEnd   = "<!-- end: matrix -->\n"
)

// permissionMatrix is the role → permission matrix as a Markdown table.
func permissionMatrix() string {
	var b strings.Builder
	b.WriteString("| resource |")
	for _, r := range Roles {
		b.WriteString(" " + string(r) + " |")
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(Roles)) + "\n")
	for _, res := range Resources {
		b.WriteString("| `" + res + "` |")
		for _, r := range Roles {
			switch Permissions[r][res] {
			case WriteAccess:
				b.WriteString(" read, write |")
			case ReadAccess:
				b.WriteString(" read |")
			default:
				b.WriteString(" no |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// The matrix in docs/security/permissions.md is the one the server
// enforces: a change of Permissions that the page does not show fails.
func TestPermissionsDocument(t *testing.T) {
	const path = "../../docs/security/permissions.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, matrixBegin), strings.Index(s, matrixEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: no generated matrix between %q and %q", path, matrixBegin, matrixEnd)
	}
	want := s[:i] + matrixBegin + permissionMatrix() + s[j:]
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	if s != want {
		t.Errorf("%s does not show the matrix of internal/auth/roles.go; run go test ./internal/auth -run TestPermissionsDocument -update", path)
	}
}
