package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"bursar/internal/audit"
	"bursar/internal/auth"
)

// runUserAdmin runs the operator's commands on an account: disable-user
// (it signs in by no pathway and every session of it ends, ASVS 5.0
// 7.4.2), enable-user, and end-sessions (every session of one user, or of
// every user with --all, ASVS 5.0 7.4.5). The audit log's system tree
// records each.
func runUserAdmin(ctx context.Context, io stdio, command string, args []string) error {
	synopsis := "admin " + command + " --email EMAIL"
	if command == "end-sessions" {
		synopsis = "admin end-sessions --email EMAIL | --all"
	}
	fs := newFlagSet(io, "admin "+command, synopsis)
	var sf storeFlags
	sf.register(fs)
	email := fs.String("email", "", "email address of the user")
	all := false
	if command == "end-sessions" {
		fs.BoolVar(&all, "all", false, "end the sessions of every user of the server")
	}
	if err := parse(io, fs, args); err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return err
	}
	if all == strings.Contains(*email, "@") {
		if command == "end-sessions" {
			return usagef("give either --email (the user's email address) or --all")
		}
		return usagef("--email is required: the user's email address")
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	al, err := auditLog(sf, st)
	if err != nil {
		return err
	}
	id := &auth.Identity{Store: st, Now: time.Now}
	actor := audit.Actor{Type: audit.ActorSystem, ID: "cli:admin " + command}
	var ended int64
	if all {
		err = st.InTx(ctx, func(ctx context.Context) error {
			if ended, err = st.RevokeAllSessions(ctx, time.Now().UTC()); err != nil {
				return err
			}
			return al.Append(ctx, &audit.Entry{Tree: audit.SystemTree, Actor: actor, Action: "session.revoked_everyone",
				ObjectType: "server", Fields: []audit.Field{{Name: "revoked", Value: []byte(fmt.Sprint(ended))}}})
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(io.stderr, "%d session(s) ended\n", ended)
		return nil
	}
	u, err := st.GetUserByEmail(ctx, auth.NormalizeEmail(*email))
	if err != nil {
		return fmt.Errorf("user %s: %w", *email, err)
	}
	action := map[string]string{"disable-user": "user.disabled", "enable-user": "user.enabled", "end-sessions": "session.revoked_all"}[command]
	err = st.InTx(ctx, func(ctx context.Context) error {
		var err error
		switch command {
		case "disable-user":
			ended, err = id.DisableUser(ctx, u.ID)
		case "enable-user":
			err = id.EnableUser(ctx, u.ID)
		default:
			ended, err = st.RevokeUserSessions(ctx, u.ID, "", time.Now().UTC())
		}
		if err != nil {
			return err
		}
		return al.Append(ctx, &audit.Entry{Tree: audit.SystemTree, Actor: actor, Action: action, ObjectType: "user", ObjectID: u.ID,
			Fields: []audit.Field{{Name: "revoked", Value: []byte(fmt.Sprint(ended))}}})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(io.stderr, "%s: %s; %d session(s) ended\n", u.ID, action, ended)
	return nil
}
