// Command pgcluster starts a throw-away PostgreSQL cluster (see
// internal/store/pgtest), writes the URL of an empty database in it to a
// file, and stops the cluster and removes its files on SIGINT or SIGTERM.
// The CI leak check uses it to run the real server against PostgreSQL and
// dump what the server stored.
//
//	go run ./internal/leakcheck/cmd/pgcluster -url-file FILE &
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"bursar/internal/store/pgtest"
)

func main() {
	urlFile := flag.String("url-file", "", "file to write the database URL to, readable by its owner only (required)")
	flag.Parse()
	if *urlFile == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: pgcluster -url-file FILE")
		os.Exit(2)
	}
	// Subscribe before the cluster exists, so that a signal that comes
	// while it starts still stops it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	url, stop, err := pgtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgcluster:", err)
		os.Exit(1)
	}
	// The URL holds the cluster's password.
	if err := os.WriteFile(*urlFile, []byte(url+"\n"), 0o600); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "pgcluster: -url-file:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "pgcluster: ready")
	<-sig
	stop()
}
