package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"bursar/internal/api"
	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/auth/mfa"
	"bursar/internal/auth/sso"
	"bursar/internal/guard"
	"bursar/internal/notify/mail"
	"bursar/internal/vault"
)

// IdentityConfig sets up users, sign-in, sessions and second factors.
type IdentityConfig struct {
	// PublicURL is the address users reach the server at
	// ("https://bill.example"): the start of the links in mails, and the
	// origin and relying party of passkeys. Empty means the listening
	// address, which suits a single-user install on one machine.
	PublicURL string
	// Mail sends invitations, reset links and failed sign-in notices; nil
	// logs them at warning level (mail.LogSender).
	Mail mail.Sender
	// SessionIdle and SessionAbsolute are the idle timeout and absolute
	// lifetime of sessions; 0 means auth.DefaultSessionIdle and
	// auth.DefaultSessionAbsolute.
	SessionIdle, SessionAbsolute time.Duration
	// Sealer seals TOTP secrets at rest: the store's vault. Nil makes a
	// throw-away vault (for tests), whose secrets die with the process.
	Sealer mfa.Sealer
}

// Identity is the identity and MFA services, built once by New and shared
// by the API and the portal: both must run the same throttles, sessions
// and factors.
type Identity struct {
	Identity *auth.Identity
	MFA      *mfa.Service
	// SSO signs members in with their organization's OpenID Connect
	// provider; the API configures it, the portal runs its flow.
	SSO *sso.Service
}

// newIdentity builds the identity and MFA services over the store. MFA
// events go to the audit log's system tree, as every event of a user
// outside an organization does.
func newIdentity(cfg Config, store Store, auditLog *audit.Log, log *slog.Logger, now func() time.Time) Identity {
	ic := cfg.Identity
	base := publicURL(cfg)
	sender := ic.Mail
	if sender == nil {
		sender = &mail.LogSender{Log: log}
	}
	sealer := ic.Sealer
	if sealer == nil {
		kek, err := vault.EphemeralKEK()
		if err != nil {
			panic(fmt.Sprintf("server: vault key: %v", err)) // the system's random source failed
		}
		log.Warn("mfa: no vault configured; TOTP secrets are sealed with a throw-away key")
		sealer = vault.New(kek, vault.NewMemoryKeyStore())
	}
	m := &mfa.Service{Store: store, Sealer: sealer, WebAuthn: relyingParty(base, log), Issuer: mfa.DefaultIssuer, Now: now,
		Record: mfaRecorder(auditLog)}
	id := &auth.Identity{Store: store, Orgs: store, Mail: sender, SecondFactor: m, Now: now, Logger: log, BaseURL: base,
		SessionIdle: ic.SessionIdle, SessionAbsolute: ic.SessionAbsolute}
	single := &sso.Service{Store: store, Identity: id, Audit: auditLog, Now: now, Logger: log, BaseURL: base}
	if cfg.OAuthPrivateNetworks {
		// The same choice as for machine clients' providers: an identity
		// provider inside the server's network may be reached.
		single.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return Identity{Identity: id, MFA: m, SSO: single}
}

// publicURL is the configured public address, or the listening one.
func publicURL(cfg Config) string {
	if u := strings.TrimRight(cfg.Identity.PublicURL, "/"); u != "" {
		return u
	}
	scheme := "http://"
	if cfg.TLS.Enabled() {
		scheme = "https://"
	}
	return scheme + cfg.Addr
}

// relyingParty is the WebAuthn relying party of the public address: its
// host name is the relying party id and its origin the only one allowed.
// An address that cannot be one (an IP address, which browsers refuse)
// leaves passkeys off, with a warning.
func relyingParty(base string, log *slog.Logger) *webauthn.WebAuthn {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		log.Warn("passkeys are off: the public URL has no host name", "public_url", base)
		return nil
	}
	wa, err := webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: "Bursar", RPOrigins: []string{u.Scheme + "://" + u.Host}})
	if err != nil {
		log.Warn("passkeys are off: the public URL cannot be a WebAuthn relying party", "public_url", base, "err", err)
		return nil
	}
	return wa
}

// mfaRecorder appends MFA events to the audit log's system tree, with the
// request id and the keyed hash of the client address, in the
// transaction of the change when there is one (the context carries it).
func mfaRecorder(l *audit.Log) func(ctx context.Context, e mfa.Event) error {
	return func(ctx context.Context, e mfa.Event) error {
		entry := e.Entry(l.Keys.Hasher, audit.SystemTree)
		entry.RequestID = api.RequestID(ctx)
		if addr, ok := guard.ClientAddrFrom(ctx); ok {
			entry.AddressHash = l.Keys.Hasher.HashPersonal(entry.Tree, []byte(addr.String()))
		}
		return l.Append(ctx, entry)
	}
}
