package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// SMTP sends mail through an SMTP server. It opens one connection per
// message: mail here is a trickle of notices, and a pooled connection would
// only add idle timeouts to handle.
type SMTP struct {
	cfg Config
	// The fields below are for tests, which point a remote host name at a
	// loopback server or trust their own certificate.
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig *tls.Config
	now       func() time.Time
}

// defaultTimeout bounds a whole Send when the context has no deadline, so
// that a server that stops answering cannot hold a job forever.
const defaultTimeout = 30 * time.Second

// NewSMTP returns a Sender for cfg.
func NewSMTP(cfg Config) *SMTP {
	var d net.Dialer
	return &SMTP{cfg: cfg, dial: d.DialContext, now: time.Now}
}

func (s *SMTP) tlsFor() *tls.Config {
	if s.tlsConfig != nil {
		return s.tlsConfig.Clone()
	}
	return &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
}

// Send delivers m, or returns why not. Errors wrapping ErrInvalidMessage
// are final; others (network, server refusals) may succeed on retry.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := m.check()
	if err != nil {
		return err
	}
	body, err := s.compose(m, to)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	conn, err := s.dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("mail: connect to %s: %w", addr, err)
	}
	// net/smtp knows no contexts: the deadline bounds every read and
	// write, and a cancellation closes the connection under it.
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return errors.Join(fmt.Errorf("mail: %s: %w", addr, err), conn.Close())
	}
	// #nosec G104 -- closing is the cancellation itself; Send reports ctx.Err().
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if s.cfg.TLS {
		conn = tls.Client(conn, s.tlsFor())
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return errors.Join(fmt.Errorf("mail: %s: %w", addr, err), conn.Close())
	}
	defer c.Close()
	if err := s.session(c, to.Address, body); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mail: %s: %w", addr, ctx.Err())
		}
		return fmt.Errorf("mail: %s: %w", addr, err)
	}
	return nil
}

// ErrNoTLS is wrapped when an smtp:// server to a host that is not
// loopback does not offer STARTTLS: the message and any password would
// cross the network in clear text, so Send refuses before either is sent.
var ErrNoTLS = errors.New("the server does not offer STARTTLS, which is required for a host that is not loopback")

func (s *SMTP) session(c *smtp.Client, to string, body []byte) error {
	if err := c.Hello(helloName(s.cfg.From.Address)); err != nil {
		return err
	}
	if !s.cfg.TLS && !loopback(s.cfg.Host) {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return ErrNoTLS
		}
		if err := c.StartTLS(s.tlsFor()); err != nil {
			return err
		}
	}
	if s.cfg.Username != "" {
		// PlainAuth itself also refuses to send the password unless the
		// connection is TLS or the host is localhost.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.cfg.From.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// helloName is the name given in EHLO: the sender's domain, which a
// relay is more likely to accept than net/smtp's "localhost".
func helloName(from string) string {
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		return from[i+1:]
	}
	return "localhost"
}

// compose writes the message in RFC 5322 form: every header from
// checked values (no line breaks), the subject as RFC 2047 encoded words
// when it is not plain ASCII, and the body quoted-printable, so that
// neither long lines nor 8-bit text depend on the relay.
func (s *SMTP) compose(m Message, to *mail.Address) ([]byte, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("mail: message id: %w", err)
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", s.cfg.From.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", s.now().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id)+"@"+helloName(s.cfg.From.Address)+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(m.Text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
