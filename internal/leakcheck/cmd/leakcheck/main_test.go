package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.log")
	dirty := filepath.Join(dir, "dirty.log")
	secrets := filepath.Join(dir, "secrets")
	write := func(name, s string) {
		if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(clean, "level=INFO msg=finalized number=INV-2026-00001 total=1190.00\n")
	write(dirty, "level=INFO msg=oops token=hunter2-very-secret\n")
	write(secrets, "hunter2-very-secret\n")
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"clean file", []string{"-secrets-file", secrets, clean}, 0, ""},
		{"known secret found", []string{"-secrets-file", secrets, clean, dirty}, 1, "dirty.log: line 1"},
		{"no files", nil, 2, ""},
		{"missing file", []string{filepath.Join(dir, "nope")}, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, &out, &errb); code != tc.code {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("stdout: got %q, want it to contain %q", out.String(), tc.out)
			}
			if strings.Contains(out.String(), "hunter2-very-secret") {
				t.Errorf("stdout repeats the secret: %q", out.String())
			}
		})
	}
}
