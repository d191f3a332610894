package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"bursar/internal/notify/mail/mailtest"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw       string
		host      string
		port      int
		tls       bool
		user, pwd string
		from      string
	}{
		{"smtp://mail.example.com?from=billing@example.com", "mail.example.com", 587, false, "", "", "billing@example.com"},
		{"smtps://mail.example.com?from=billing@example.com", "mail.example.com", 465, true, "", "", "billing@example.com"},
		{"smtp://u%40x:p%3Ass@127.0.0.1:2525/?from=Billing+%3Cb@example.com%3E", "127.0.0.1", 2525, false, "u@x", "p:ss", "b@example.com"},
		{"smtp://[::1]:25?from=b@example.com", "::1", 25, false, "", "", "b@example.com"},
	} {
		c, err := ParseURL(tc.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.raw, err)
			continue
		}
		if c.Host != tc.host || c.Port != tc.port || c.TLS != tc.tls || c.Username != tc.user || c.Password != tc.pwd || c.From.Address != tc.from {
			t.Errorf("ParseURL(%q) = %+v", tc.raw, c)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "s3cretPW"
	for _, raw := range []string{
		"http://mail.example.com?from=b@example.com",
		"smtp://?from=b@example.com",
		"smtp://mail.example.com",
		"smtp://mail.example.com?from=",
		"smtp://mail.example.com?from=not-an-address",
		"smtp://mail.example.com?from=b@example.com%0D%0ABcc:%20x@evil.example",
		"smtp://mail.example.com?from=b@example.com&from=c@example.com",
		"smtp://mail.example.com?from=b@example.com&starttls=no",
		"smtp://mail.example.com:0?from=b@example.com",
		"smtp://mail.example.com:99999?from=b@example.com",
		"smtp://mail.example.com/inbox?from=b@example.com",
		"smtp://:" + secret + "@mail.example.com?from=b@example.com",
		"smtp://user@mail.example.com?from=b@example.com",
		"smtp://user:" + secret + "@mail.example.com:port?from=b@example.com",
		"smtp://user:" + secret + "@mail.example.com\x7f?from=b@example.com",
	} {
		_, err := ParseURL(raw)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", raw)
			continue
		}
		if !strings.Contains(err.Error(), "BURSAR_SMTP_URL") {
			t.Errorf("ParseURL(%q) error %q does not name BURSAR_SMTP_URL", raw, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseURL(%q) error %q repeats the password", raw, err)
		}
	}
}

// sendTo sends m through an SMTP sender configured by raw whose connections
// all go to srv, whatever host the URL names; it trusts srv's certificate
// if srv has one.
func sendTo(t *testing.T, srv *mailtest.Server, raw string, m Message) error {
	t.Helper()
	cfg, err := ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSMTP(cfg)
	s.now = func() time.Time { return time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC) }
	s.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr)
	}
	if roots := srv.RootCAs(); roots != nil {
		s.tlsConfig = &tls.Config{ServerName: cfg.Host, RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Send(ctx, m)
}

// TestSendSTARTTLSToRemoteHost: to a host that is not loopback, the
// sender upgrades with STARTTLS before it authenticates or sends.
func TestSendSTARTTLSToRemoteHost(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: "bursar", Password: "secret", TLS: true, Hosts: []string{"mail.example.com"}})
	err := sendTo(t, srv, "smtp://bursar:secret@mail.example.com?from=billing@example.com",
		Message{To: "ann@example.org", Subject: "Hello", Text: "hi\n"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("messages %+v, want one over TLS", msgs)
	}
	cmds := srv.Commands()
	tlsAt, authAt := slices.Index(cmds, "STARTTLS"), slices.Index(cmds, "AUTH")
	if tlsAt < 0 || authAt < tlsAt {
		t.Fatalf("commands %v: want STARTTLS before AUTH", cmds)
	}
}

// TestSendSMTPS: smtps:// speaks TLS from the first byte.
func TestSendSMTPS(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: "bursar", Password: "secret", Implicit: true, Hosts: []string{"mail.example.com"}})
	err := sendTo(t, srv, "smtps://bursar:secret@mail.example.com?from=billing@example.com",
		Message{To: "ann@example.org", Subject: "Hello", Text: "hi\n"})
	if err != nil {
		t.Fatal(err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS || slices.Contains(srv.Commands(), "STARTTLS") {
		t.Fatalf("messages %+v, commands %v: want one over implicit TLS", msgs, srv.Commands())
	}
}

// TestSendRefusesUntrustedCertificate: the certificate is verified against
// the host name, so a server the system does not trust gets neither the
// password nor the message.
func TestSendRefusesUntrustedCertificate(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: "bursar", Password: "secret", TLS: true, Hosts: []string{"other.example.com"}})
	err := sendTo(t, srv, "smtp://bursar:secret@mail.example.com?from=billing@example.com",
		Message{To: "ann@example.org", Subject: "Hello", Text: "hi\n"})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Send = %v, want a certificate error", err)
	}
	if slices.Contains(srv.Commands(), "AUTH") || len(srv.Messages()) != 0 {
		t.Fatalf("commands %v, %d messages after a failed handshake", srv.Commands(), len(srv.Messages()))
	}
}

func TestSendPlainToLoopback(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: "bursar", Password: "pa:ss w0rd"})
	raw := "smtp://bursar:pa%3Ass%20w0rd@" + srv.Addr + "?from=Bursar+Billing+%3Cbilling@example.com%3E"
	link := "https://bursar.example.com/reset?token=" + strings.Repeat("Ab9_", 30)
	text := "Hello Zoë,\n\nreset your password here:\n" + link + "\n.\n.. a line that starts with a dot\n"
	err := sendTo(t, srv, raw, Message{To: "Zoë Ünal <zoe@example.org>", Subject: "Réinitialiser le mot de passe", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "billing@example.com" || !slices.Equal(got.To, []string{"zoe@example.org"}) {
		t.Fatalf("envelope from %q to %q", got.From, got.To)
	}
	if !slices.Contains(srv.Commands(), "AUTH") {
		t.Fatalf("client did not authenticate: %v", srv.Commands())
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "Réinitialiser le mot de passe" {
		t.Errorf("Subject = %q (%v)", subject, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Zoë Ünal" || to[0].Address != "zoe@example.org" {
		t.Errorf("To = %v (%v)", to, err)
	}
	if from, err := msg.Header.AddressList("From"); err != nil || from[0].Address != "billing@example.com" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if got, want := msg.Header.Get("Date"), "Fri, 27 Nov 2026 09:30:00 +0000"; got != want {
		t.Errorf("Date = %q, want %q", got, want)
	}
	if msg.Header.Get("Message-ID") == "" || msg.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("headers %v", msg.Header)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	// The server normalized line ends to "\n"; quoted-printable wrote them
	// as CRLF, which decode back to "\r\n".
	if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != text {
		t.Errorf("body = %q, want %q", got, text)
	}
}

// TestSendRequiresSTARTTLSForRemoteHost: to a host that is not loopback,
// smtp:// without STARTTLS is refused before the password or the message
// is sent.
func TestSendRequiresSTARTTLSForRemoteHost(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: "bursar", Password: "secret"})
	err := sendTo(t, srv, "smtp://bursar:secret@mail.example.com?from=billing@example.com",
		Message{To: "ann@example.org", Subject: "Hello", Text: "hi\n"})
	if !errors.Is(err, ErrNoTLS) {
		t.Fatalf("Send = %v, want ErrNoTLS", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server got %d messages", n)
	}
	for _, c := range srv.Commands() {
		if c == "AUTH" || c == "MAIL" {
			t.Fatalf("client sent %s before refusing: %v", c, srv.Commands())
		}
	}
}

func TestSendRefusesWrongPassword(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: "bursar", Password: "right"})
	err := sendTo(t, srv, "smtp://bursar:wrong@"+srv.Addr+"?from=billing@example.com",
		Message{To: "ann@example.org", Subject: "Hello", Text: "hi\n"})
	if err == nil || len(srv.Messages()) != 0 {
		t.Fatalf("Send = %v with %d messages delivered, want an error and none", err, len(srv.Messages()))
	}
}

// TestHeaderInjectionRefused: a line break in the subject or the
// recipient would start a header or an SMTP command of the caller's
// choosing; both senders refuse the message and nothing reaches the server.
func TestHeaderInjectionRefused(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	log := &LogSender{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for name, m := range map[string]Message{
		"subject CRLF":   {To: "ann@example.org", Subject: "Hi\r\nBcc: evil@example.net", Text: "x"},
		"subject LF":     {To: "ann@example.org", Subject: "Hi\nBcc: evil@example.net", Text: "x"},
		"subject CR":     {To: "ann@example.org", Subject: "Hi\rBcc: evil@example.net", Text: "x"},
		"to CRLF":        {To: "ann@example.org\r\nBcc: evil@example.net", Subject: "Hi", Text: "x"},
		"to RCPT":        {To: "ann@example.org>\r\nRCPT TO:<evil@example.net", Subject: "Hi", Text: "x"},
		"to not address": {To: "ann", Subject: "Hi", Text: "x"},
		"subject long":   {To: "ann@example.org", Subject: strings.Repeat("s", maxSubject+1), Text: "x"},
	} {
		if err := sendTo(t, srv, "smtp://"+srv.Addr+"?from=billing@example.com", m); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: SMTP Send = %v, want ErrInvalidMessage", name, err)
		}
		if err := log.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: LogSender Send = %v, want ErrInvalidMessage", name, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server got %d messages", n)
	}
	// A body may hold anything: a line that looks like a header stays body.
	m := Message{To: "ann@example.org", Subject: "Hi", Text: "\r\nBcc: evil@example.net\r\n\r\n.\r\nQUIT\r\n"}
	if err := sendTo(t, srv, "smtp://"+srv.Addr+"?from=billing@example.com", m); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"ann@example.org"}) {
		t.Fatalf("messages %+v", msgs)
	}
	got, err := mail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil || got.Header.Get("Bcc") != "" {
		t.Fatalf("the body became a Bcc header: %v (%v)", got.Header, err)
	}
}

// TestLogSenderLogsMessageAtWarning: without BURSAR_SMTP_URL the message,
// link included, is logged at warning level.
func TestLogSenderLogsMessageAtWarning(t *testing.T) {
	var buf bytes.Buffer
	s, err := New("", slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*LogSender); !ok {
		t.Fatalf("New(\"\") = %T, want *LogSender", s)
	}
	link := "https://bursar.example.com/invite/tok_123"
	if err := s.Send(context.Background(), Message{To: "Ann <ann@example.org>", Subject: "You are invited", Text: "Join: " + link + "\n"}); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if rec["level"] != "WARN" || rec["to"] != "ann@example.org" || rec["subject"] != "You are invited" ||
		!strings.Contains(rec["text"].(string), link) || !strings.Contains(rec["msg"].(string), "BURSAR_SMTP_URL") {
		t.Fatalf("log record %v", rec)
	}
}

func TestNewWithURL(t *testing.T) {
	s, err := New("smtps://mail.example.com?from=billing@example.com", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*SMTP); !ok {
		t.Fatalf("New(url) = %T, want *SMTP", s)
	}
	if _, err := New("smtp://mail.example.com", slog.Default()); err == nil {
		t.Fatal("New(url without from) succeeded")
	}
}

// TestSendHonoursContext: a server that never answers holds Send no longer
// than the context allows.
func TestSendHonoursContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c) // accept, never greet
		}
	}()
	cfg, err := ParseURL("smtp://" + ln.Addr().String() + "?from=billing@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = NewSMTP(cfg).Send(ctx, Message{To: "ann@example.org", Subject: "Hi", Text: "x"})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Send = %v after %v, want an error soon after 200ms", err, time.Since(start))
	}
}
