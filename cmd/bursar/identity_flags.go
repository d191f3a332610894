package main

import (
	"flag"
	"log/slog"
	"net/url"
	"time"

	"bursar/internal/auth"
	"bursar/internal/notify/mail"
	"bursar/internal/server"
)

// identityFlags are serve's settings of sign-in, sessions and mail.
type identityFlags struct {
	publicURL string
	smtpURL   string
	idle      time.Duration
	lifetime  time.Duration
}

func (f *identityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.publicURL, "public-url", "", "address users reach the server at, e.g. https://bill.example: the start of links in mails and the origin of passkeys (default: http(s):// and --addr)")
	fs.StringVar(&f.smtpURL, "smtp-url", "", "SMTP server for invitations, password resets and sign-in notices: smtp://user:pass@host:587?from=billing@example.com (smtps:// for TLS on 465); empty logs each message at warning level instead")
	fs.DurationVar(&f.idle, "session-idle-timeout", auth.DefaultSessionIdle, "a session unused this long ends")
	fs.DurationVar(&f.lifetime, "session-lifetime", auth.DefaultSessionAbsolute, "a session ends this long after sign-in, however much it is used")
}

// config checks the flags and returns the server's identity settings. The
// mail sender's errors name BURSAR_SMTP_URL and never the password.
func (f *identityFlags) config(log *slog.Logger) (server.IdentityConfig, error) {
	var c server.IdentityConfig
	if f.publicURL != "" {
		u, err := url.Parse(f.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return c, usagef("invalid --public-url (%s) %q: must be http(s)://host[:port], such as https://bill.example", envName("public-url"), f.publicURL)
		}
	}
	if f.idle <= 0 {
		return c, usagef("invalid --session-idle-timeout (%s) %s: must be positive", envName("session-idle-timeout"), f.idle)
	}
	if f.lifetime < f.idle {
		return c, usagef("invalid --session-lifetime (%s) %s: must be at least the idle timeout (%s)", envName("session-lifetime"), f.lifetime, f.idle)
	}
	sender, err := mail.New(f.smtpURL, log)
	if err != nil {
		return c, usagef("invalid --smtp-url: %v", err)
	}
	return server.IdentityConfig{PublicURL: f.publicURL, Mail: sender, SessionIdle: f.idle, SessionAbsolute: f.lifetime}, nil
}
