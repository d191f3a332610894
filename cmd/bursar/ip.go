package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"bursar/internal/audit"
	"bursar/internal/guard"
)

const ipSynopsis = "ip deny|allow CIDR [--note TEXT] [--expires-in 24h] | ip list | ip remove ID [flags]"

// runIP manages the server's address rules in its database. Every running
// replica applies a change within guard.DefaultRuleTTL. A change is
// appended to the audit log's system tree in its own transaction, and
// printed to stderr, with who made it (the operating system user).
func runIP(ctx context.Context, io stdio, args []string) error {
	if len(args) == 0 {
		return usagef("usage: bursar %s", ipSynopsis)
	}
	sub, rest := args[0], args[1:]
	var positional string
	switch sub {
	case "deny", "allow", "remove":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			what := "CIDR"
			if sub == "remove" {
				what = "ID"
			}
			return usagef("ip %s needs the %s first: bursar %s", sub, what, ipSynopsis)
		}
		positional, rest = rest[0], rest[1:]
	case "list":
	default:
		return usagef("unknown ip command %q: use deny, allow, list or remove", sub)
	}
	fs := newFlagSet(io, "ip", ipSynopsis)
	var sf storeFlags
	sf.register(fs)
	var note string
	var expiresIn time.Duration
	if sub == "deny" || sub == "allow" {
		fs.StringVar(&note, "note", "", "why the rule exists (shown in ip list)")
		fs.DurationVar(&expiresIn, "expires-in", 0, "remove the rule's effect after this long, such as 24h; 0 means never")
	}
	if err := parse(io, fs, rest); err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return err
	}
	if expiresIn < 0 {
		return usagef("invalid --expires-in %s: must not be negative", expiresIn)
	}
	if sub != "remove" && sub != "list" {
		if _, err := guard.ParsePrefix(positional); err != nil {
			return usagef("invalid CIDR: %v", err)
		}
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := auditKeys(sf)
	if err != nil {
		return err
	}
	alog := &audit.Log{Store: st, Keys: keys, Now: time.Now}
	by := "cli"
	if u := io.getenv("USER"); u != "" {
		by = "cli:" + u
	}
	rules := &guard.IPRules{Store: st, Now: time.Now, OnChange: func(_ context.Context, c guard.RuleChange) {
		fmt.Fprintf(io.stderr, "%s %s %s (%s) by %s; running servers apply it within %s\n",
			map[string]string{"add": "added", "remove": "removed"}[c.Op], c.Rule.Action, c.Rule.CIDR, c.Rule.ID, c.By, guard.DefaultRuleTTL)
	}}
	switch sub {
	case "deny", "allow":
		var exp *time.Time
		if expiresIn > 0 {
			t := time.Now().Add(expiresIn)
			exp = &t
		}
		var r *guard.IPRule
		err := st.InTx(ctx, func(ctx context.Context) error {
			var err error
			if r, err = rules.Add(ctx, guard.Action(sub), positional, note, by, exp); err != nil {
				return err
			}
			return auditIPRule(ctx, alog, "ip_rule.created", by, nil, r)
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(io.stdout, r.ID)
	case "remove":
		err := st.InTx(ctx, func(ctx context.Context) error {
			r, err := rules.Remove(ctx, positional, by)
			if err != nil {
				return err
			}
			return auditIPRule(ctx, alog, "ip_rule.deleted", by, r, nil)
		})
		if err != nil {
			return err
		}
	case "list":
		list, err := rules.List(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, r := range list {
			expires := "never"
			if r.ExpiresAt != nil {
				expires = r.ExpiresAt.Format(time.RFC3339)
				if !now.Before(*r.ExpiresAt) {
					expires += " (expired)"
				}
			}
			fmt.Fprintf(io.stdout, "%s\t%s\t%s\texpires %s\tby %s\t%s\n", r.ID, r.Action, r.CIDR, expires, r.CreatedBy, r.Note)
		}
	}
	return nil
}

// auditIPRule appends a change of an address rule to the audit log's
// system tree: the rules belong to no organization.
func auditIPRule(ctx context.Context, alog *audit.Log, action, by string, before, after *guard.IPRule) error {
	id := ""
	for _, r := range []*guard.IPRule{before, after} {
		if r != nil {
			id = r.ID
		}
	}
	var b, a any
	if before != nil {
		b = before
	}
	if after != nil {
		a = after
	}
	fields, err := audit.Changes(alog.Keys.Hasher, audit.SystemTree, "ip_rule", b, a)
	if err != nil {
		return err
	}
	return alog.Append(ctx, &audit.Entry{Tree: audit.SystemTree, Actor: audit.Actor{Type: audit.ActorSystem, ID: by},
		Action: action, ObjectType: "ip_rule", ObjectID: id, Fields: fields})
}
