package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/auth/password"
)

// runSetPassword sets a user's password from the first line of standard
// input, so that it shows up in no process list or shell history: how the
// owner made by admin init signs in for the first time, or how an
// operator lets a locked-out user back in. The user's sessions end, and
// the audit log's system tree records it.
func runSetPassword(ctx context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "admin set-password", "admin set-password --email EMAIL < password")
	var sf storeFlags
	sf.register(fs)
	email := fs.String("email", "", "email address of the user (required)")
	if err := parse(io, fs, args); err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return err
	}
	if !strings.Contains(*email, "@") {
		return usagef("--email is required: the user's email address")
	}
	pw, err := readPassword(io.stdin)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.GetUserByEmail(ctx, auth.NormalizeEmail(*email))
	if err != nil {
		return fmt.Errorf("user %s: %w", *email, err)
	}
	words, err := auth.PasswordWords(ctx, st, st, u)
	if err != nil {
		return err
	}
	if err := password.Check(pw, words...); err != nil {
		return usagef("the password on standard input is refused: %v", err)
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	al, err := auditLog(sf, st)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	var ended int64
	err = st.InTx(ctx, func(ctx context.Context) error {
		if err := st.SetUserPassword(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if ended, err = st.RevokeUserSessions(ctx, u.ID, "", now); err != nil {
			return err
		}
		return al.Append(ctx, &audit.Entry{Tree: audit.SystemTree, Actor: audit.Actor{Type: audit.ActorSystem, ID: "cli:admin set-password"},
			Action: "password.set", ObjectType: "user", ObjectID: u.ID})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(io.stderr, "set the password of %s; %d session(s) ended\n", u.ID, ended)
	return nil
}

// readPassword reads the first line of r, without its line ending; a
// password is never trimmed otherwise (spaces are characters like any).
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", usagef("give the password on standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usagef("give the password on standard input (one line)")
	}
	return line, nil
}
