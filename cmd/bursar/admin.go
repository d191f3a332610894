package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/ident"
	"bursar/internal/org"
	"bursar/internal/page"
	"bursar/internal/party"
)

func runAdmin(ctx context.Context, io stdio, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "set-password":
			return runSetPassword(ctx, io, args[1:])
		case "disable-user", "enable-user", "end-sessions":
			return runUserAdmin(ctx, io, args[0], args[1:])
		}
	}
	if len(args) == 0 || args[0] != "init" {
		return usagef("usage: bursar admin init --org NAME --email EMAIL [--currency EUR] [--country DE] | admin set-password --email EMAIL < password" +
			" | admin disable-user --email EMAIL | admin enable-user --email EMAIL | admin end-sessions --email EMAIL | --all")
	}
	synopsis := "admin init --org NAME --email EMAIL [flags]"
	fs := newFlagSet(io, "admin init", synopsis)
	var sf storeFlags
	sf.register(fs)
	name := fs.String("org", "", "legal name of the organization (required)")
	email := fs.String("email", "", "email address of the owner (required)")
	currency := fs.String("currency", "EUR", "default currency (ISO 4217)")
	country := fs.String("country", "", "country (ISO 3166-1 alpha-2), e.g. DE")
	timeZone := fs.String("time-zone", "UTC", "IANA time zone of the organization, e.g. Europe/Berlin")
	// ASVS 5.0 6.3.3 (level 2): people reach the application with two
	// factors. API keys and OAuth bearer tokens are machine credentials and
	// are not affected; docs/security/mfa.md says when turning it off is
	// defensible and what stands in its place.
	mfaRequired := fs.Bool("mfa-required", true, "require a second factor of every member (ASVS 6.3.3); false only for a reason docs/security/mfa.md gives")
	if err := parse(io, fs, args[1:]); err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usagef("--org is required: the organization's legal name")
	}
	if !strings.Contains(*email, "@") {
		return usagef("--email is required: the owner's email address")
	}
	now := time.Now()
	o, err := org.New(org.Input{Name: *name, Email: *email, DefaultCurrency: *currency, TimeZone: *timeZone,
		Address: party.Address{Country: *country}}, now)
	if err != nil {
		return usagef("%v", err)
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	keys := &auth.Service{Store: st, Now: time.Now}
	al, err := auditLog(sf, st)
	if err != nil {
		return err
	}
	var secret string
	err = st.InTx(ctx, func(ctx context.Context) error {
		if err := st.InsertOrganization(ctx, o); err != nil {
			return err
		}
		u := &auth.User{ID: ident.New("usr", now), Email: *email, CreatedAt: now.UTC()}
		if err := st.InsertUser(ctx, u); err != nil {
			return err
		}
		if err := st.InsertMembership(ctx, &auth.Membership{OrgID: o.ID, UserID: u.ID, Role: auth.RoleOwner, CreatedAt: now.UTC()}); err != nil {
			return err
		}
		if err := st.SetOrgMFARequired(ctx, o.ID, *mfaRequired, now.UTC()); err != nil {
			return err
		}
		var k *auth.APIKey
		k, secret, err = keys.CreateAPIKey(ctx, o.ID, "admin init", []string{auth.FullAccess}, nil)
		if err != nil {
			return err
		}
		if err := auditCLI(ctx, al, "admin init", o.ID, "organization.created", "organization", o.ID, nil, o); err != nil {
			return err
		}
		// The same entry as PUT /v1/organization/mfa makes.
		if err := al.Append(ctx, &audit.Entry{Tree: o.ID, Actor: audit.Actor{Type: audit.ActorSystem, ID: "cli:admin init"},
			Action: "organization.mfa_required_changed", ObjectType: "organization", ObjectID: o.ID,
			Fields: []audit.Field{{Name: "required_before", Value: json.RawMessage("false")},
				{Name: "required", Value: json.RawMessage(strconv.FormatBool(*mfaRequired))}}}); err != nil {
			return err
		}
		return auditCLI(ctx, al, "admin init", o.ID, "api_key.created", "api_key", k.ID, nil, k)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(io.stderr, "created organization %s (%s) with owner %s; its API key follows on stdout and is not shown again\n", o.ID, o.Name, *email)
	if *mfaRequired {
		fmt.Fprintln(io.stderr, "every member must enrol a second factor (an authenticator app or a passkey) at first sign-in; the API key is not affected")
	} else {
		fmt.Fprintln(io.stderr, "warning: second factors are not required of members (--mfa-required=false); see docs/security/mfa.md")
	}
	fmt.Fprintln(io.stdout, secret)
	return nil
}

func runAPIKey(ctx context.Context, io stdio, args []string) error {
	if len(args) == 0 {
		return usagef("usage: bursar apikey create|list|revoke --org ID")
	}
	sub := args[0]
	fs := newFlagSet(io, "apikey "+sub, "apikey "+sub+" --org ID [flags]")
	var sf storeFlags
	sf.register(fs)
	orgID := fs.String("org", "", "organization id (required)")
	var scopes, name, id string
	var expires time.Duration
	switch sub {
	case "create":
		fs.StringVar(&scopes, "scopes", "*", `comma-separated scopes: "*", "read", "write", or RESOURCE:read|write`)
		fs.StringVar(&name, "name", "", "a name to recognise the key by")
		fs.DurationVar(&expires, "expires-in", 0, "lifetime of the key, e.g. 2160h; 0 means no expiry")
	case "revoke":
		fs.StringVar(&id, "id", "", "id of the key to revoke (required)")
	case "list":
	default:
		return usagef("unknown apikey command %q: use create, list or revoke", sub)
	}
	if err := parse(io, fs, args[1:]); err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return err
	}
	if *orgID == "" {
		return usagef("--org is required")
	}
	if sub == "revoke" && id == "" {
		return usagef("--id is required")
	}
	if expires < 0 {
		return usagef("invalid --expires-in %s: must not be negative", expires)
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.GetOrganization(ctx, *orgID); err != nil {
		return fmt.Errorf("organization %s: %w", *orgID, err)
	}
	keys := &auth.Service{Store: st, Now: time.Now}
	al, err := auditLog(sf, st)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		var exp *time.Time
		if expires > 0 {
			t := time.Now().Add(expires).UTC()
			exp = &t
		}
		var k *auth.APIKey
		var secret string
		err := st.InTx(ctx, func(ctx context.Context) error {
			var err error
			if k, secret, err = keys.CreateAPIKey(ctx, *orgID, name, strings.Split(scopes, ","), exp); err != nil {
				return err
			}
			return auditCLI(ctx, al, "apikey create", *orgID, "api_key.created", "api_key", k.ID, nil, k)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(io.stderr, "created API key %s with scopes %s; the secret follows on stdout and is not shown again\n", k.ID, strings.Join(k.Scopes, ","))
		fmt.Fprintln(io.stdout, secret)
	case "list":
		list, err := keys.List(ctx, *orgID, pageAll())
		if err != nil {
			return err
		}
		for _, k := range list {
			state := "active"
			if k.RevokedAt != nil {
				state = "revoked " + k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(io.stdout, "%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Prefix, strings.Join(k.Scopes, ","), k.Name, state)
		}
	case "revoke":
		var k *auth.APIKey
		err := st.InTx(ctx, func(ctx context.Context) error {
			before, err := st.GetAPIKey(ctx, *orgID, id)
			if err != nil {
				return err
			}
			if k, err = keys.Revoke(ctx, *orgID, id); err != nil {
				return err
			}
			return auditCLI(ctx, al, "apikey revoke", *orgID, "api_key.revoked", "api_key", id, before, k)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(io.stderr, "revoked API key %s at %s\n", k.ID, k.RevokedAt.Format(time.RFC3339))
	}
	return nil
}

// pageAll asks for the largest page; an organization with more keys than
// that is asked to use the API.
func pageAll() page.Params { return page.Params{Limit: page.MaxLimit} }
