// Command leakcheck scans files for card-number-like digit runs that pass
// the Luhn check, for API key secrets, and for the exact secrets listed in
// a file. It prints each finding (redacted) and exits 1 if there is any, 2
// on bad usage, so that CI fails on a leak.
//
//	go run ./internal/leakcheck/cmd/leakcheck [-secrets-file FILE] FILE...
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"bursar/internal/leakcheck"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("leakcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secretsFile := fs.String("secrets-file", "", "file with one secret per line that must appear nowhere")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: leakcheck [-secrets-file FILE] FILE...")
		return 2
	}
	var secrets []string
	if *secretsFile != "" {
		s, err := readLines(*secretsFile)
		if err != nil {
			fmt.Fprintf(stderr, "leakcheck: -secrets-file: %v\n", err)
			return 2
		}
		secrets = s
	}
	found := 0
	for _, name := range fs.Args() {
		// #nosec G304 -- the files to scan are what the caller asks for; this is a CI tool.
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "leakcheck: %v\n", err)
			return 2
		}
		for _, f := range leakcheck.Scan(data, secrets) {
			fmt.Fprintf(stdout, "%s: %v\n", name, f)
			found++
		}
		fmt.Fprintf(stderr, "leakcheck: %s: %d bytes scanned\n", name, len(data))
	}
	if found > 0 {
		fmt.Fprintf(stdout, "leakcheck: %d finding(s)\n", found)
		return 1
	}
	return 0
}

func readLines(name string) ([]string, error) {
	f, err := os.Open(name) // #nosec G304 -- a file the caller names on the command line.
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}
