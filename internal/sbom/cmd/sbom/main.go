// Command sbom writes the CycloneDX 1.5 bill of materials of a Go binary
// from the build information the binary carries, so that what is listed is
// exactly what was linked into it.
//
//	go run ./internal/sbom/cmd/sbom [-out FILE] BINARY
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"bursar/internal/sbom"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, time.Now()))
}

func run(args []string, stdout, stderr io.Writer, now time.Time) int {
	fs := flag.NewFlagSet("sbom", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "file to write the CycloneDX JSON to (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: sbom [-out FILE] BINARY")
		return 2
	}
	if err := write(fs.Arg(0), *out, stdout, stderr, now); err != nil {
		fmt.Fprintln(stderr, "sbom:", err)
		return 1
	}
	return 0
}

func write(binary, out string, stdout, stderr io.Writer, now time.Time) error {
	info, err := sbom.ReadBinary(binary)
	if err != nil {
		return err
	}
	bom, err := sbom.New(info, "bursar internal/sbom", now)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(bom, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if out == "" {
		_, err = stdout.Write(data)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o750); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	// #nosec G306 -- an SBOM holds no secret and is meant to be published with the binary.
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	fmt.Fprintf(stderr, "sbom: %d components of %s written to %s\n", len(bom.Components), binary, out)
	return nil
}
