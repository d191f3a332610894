package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"bursar/internal/audit"
	"bursar/internal/privacy"
)

const purgeSynopsis = "purge [--dry-run] [flags]"

// runPurge removes the documents whose retention period has ended, in
// every organization, each with an audit entry; --dry-run lists them.
func runPurge(ctx context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "purge", purgeSynopsis)
	var sf storeFlags
	sf.register(fs)
	dry := fs.Bool("dry-run", false, "list what would be removed and change nothing")
	if err := parse(io, fs, args); err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return err
	}
	keys, err := auditKeys(sf)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := &privacy.Service{Store: st, Now: time.Now}
	reports, err := svc.Purge(ctx, &audit.Log{Store: st, Keys: keys, Now: time.Now}, *dry)
	n := 0
	for _, r := range reports {
		n += len(r.Units)
		b, jerr := json.Marshal(r)
		if jerr != nil {
			return jerr
		}
		fmt.Fprintln(io.stdout, string(b))
	}
	if err != nil {
		return err
	}
	verb := "purged"
	if *dry {
		verb = "would purge"
	}
	fmt.Fprintf(io.stderr, "%s %d invoices with their credit notes and payments\n", verb, n)
	return nil
}
