package mail

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// Config is a parsed BURSAR_SMTP_URL.
type Config struct {
	Host     string // name or address of the SMTP server
	Port     int
	TLS      bool // smtps: TLS from the first byte (port 465) rather than STARTTLS
	Username string
	Password string
	From     *mail.Address // the sender, from the "from" query parameter
}

// ParseURL reads an SMTP URL:
//
//	smtp://user:pass@host:587?from=billing@example.com
//	smtps://user:pass@host:465?from=Billing%20<billing@example.com>
//
// smtp:// submits on port 587 by default and requires STARTTLS, unless the
// host is a loopback address or "localhost", where the message never leaves
// the machine and a local relay speaks plain SMTP. smtps:// uses TLS from
// the start, on port 465 by default. User and password are optional but go
// together; they are sent with AUTH PLAIN, only ever over TLS or loopback.
// Errors name BURSAR_SMTP_URL and never repeat the password.
func ParseURL(raw string) (Config, error) {
	var c Config
	u, err := url.Parse(raw)
	if err != nil {
		// url's own error quotes the whole URL, password included.
		return c, fmt.Errorf("BURSAR_SMTP_URL is not a URL")
	}
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.TLS, c.Port = true, 465
	default:
		return c, fmt.Errorf("BURSAR_SMTP_URL: scheme %q, want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return c, fmt.Errorf("BURSAR_SMTP_URL: want smtp://[user:password@]host[:port]?from=address, with no path")
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return c, fmt.Errorf("BURSAR_SMTP_URL: no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("BURSAR_SMTP_URL: port %q is not a number from 1 to 65535", p)
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		pass, ok := u.User.Password()
		if c.Username == "" || !ok || pass == "" {
			return c, fmt.Errorf("BURSAR_SMTP_URL: give both a user and a password, or neither")
		}
		c.Password = pass
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fmt.Errorf("BURSAR_SMTP_URL: the query is malformed")
	}
	for k := range q {
		if k != "from" {
			return c, fmt.Errorf("BURSAR_SMTP_URL: unknown parameter %q (only from is known)", k)
		}
	}
	if len(q["from"]) != 1 || q.Get("from") == "" {
		return c, fmt.Errorf("BURSAR_SMTP_URL: give the sender once as ?from=address")
	}
	from := q.Get("from")
	if strings.ContainsAny(from, "\r\n") {
		return c, fmt.Errorf("BURSAR_SMTP_URL: from contains a line break")
	}
	if c.From, err = mail.ParseAddress(from); err != nil {
		return c, fmt.Errorf("BURSAR_SMTP_URL: from %q is not an email address: %v", from, err)
	}
	return c, nil
}

// loopback reports whether host names this machine, where plain SMTP never
// crosses a network.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
