// Package mailtest is an in-process SMTP server for tests: it listens on a
// loopback port, speaks enough of RFC 5321 for a submission client (EHLO,
// HELO, optional AUTH PLAIN, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT)
// and keeps every message it accepts for the test to inspect. With
// Options.TLS it also speaks STARTTLS, or TLS from the first byte, with a
// certificate of its own that clients trust through RootCAs; without, it
// stands in for a server that cannot encrypt.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"bursar/internal/tlstest"
)

// Message is one accepted message as it arrived.
type Message struct {
	From string   // the MAIL FROM address
	To   []string // the RCPT TO addresses
	Data []byte   // the DATA, dot-unstuffed, lines ending in "\n"
	TLS  bool     // whether the message arrived over TLS
}

// Options configure a Server.
type Options struct {
	// Username and Password, if set, make the server offer AUTH PLAIN and
	// refuse MAIL before a successful AUTH with exactly these.
	Username, Password string
	// TLS makes the server offer STARTTLS with a fresh self-signed
	// certificate for 127.0.0.1, localhost and the names in Hosts.
	TLS   bool
	Hosts []string
	// Implicit makes the server speak TLS from the first byte, as on port
	// 465 (smtps); it implies TLS.
	Implicit bool
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is the host:port to connect to (on 127.0.0.1).
	Addr string

	opts    Options
	ln      net.Listener
	wg      sync.WaitGroup
	tlsConf *tls.Config
	roots   *x509.CertPool

	mu       sync.Mutex
	messages []Message
	commands []string
}

// NewServer starts a server on a free loopback port; it stops when the test
// ends.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), opts: opts, ln: ln}
	if opts.TLS || opts.Implicit {
		var cert tls.Certificate
		cert, s.roots = tlstest.Certificate(tb, opts.Hosts...)
		s.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.Implicit {
			s.ln = tls.NewListener(ln, s.tlsConf)
		}
	}
	s.wg.Add(1)
	go s.serve()
	tb.Cleanup(func() {
		if err := s.ln.Close(); err != nil {
			tb.Errorf("mailtest: close: %v", err)
		}
		s.wg.Wait()
	})
	return s
}

// RootCAs returns a pool holding the server's certificate, for the client
// under test to trust; nil without Options.TLS.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Commands returns the verbs of every command received so far, in order
// ("EHLO", "AUTH", "MAIL", ...), so that a test can tell, for example, that
// a client never tried to authenticate.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed at cleanup
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			s.session(conn)
		}()
	}
}

// session runs one SMTP conversation. Errors on the connection end it:
// the client under test sees them as its own.
func (s *Server) session(conn net.Conn) {
	c := textproto.NewConn(conn)
	reply := func(code int, text string) bool { return c.PrintfLine("%d %s", code, text) == nil }
	if !reply(220, "mailtest ESMTP") {
		return
	}
	_, secure := conn.(*tls.Conn)
	var (
		authed = s.opts.Username == ""
		from   string
		to     []string
		inMail bool
	)
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.mu.Lock()
		s.commands = append(s.commands, verb)
		s.mu.Unlock()
		switch verb {
		case "EHLO":
			ext := []string{"mailtest"}
			if s.tlsConf != nil && !secure {
				ext = append(ext, "STARTTLS")
			}
			if s.opts.Username != "" {
				ext = append(ext, "AUTH PLAIN")
			}
			for _, e := range ext[:len(ext)-1] {
				if c.PrintfLine("250-%s", e) != nil {
					return
				}
			}
			reply(250, ext[len(ext)-1])
		case "STARTTLS":
			if s.tlsConf == nil || secure {
				reply(502, "command not implemented")
				continue
			}
			reply(220, "go ahead")
			tc := tls.Server(conn, s.tlsConf)
			if tc.Handshake() != nil {
				return
			}
			// RFC 3207: the session starts over, forgetting all that
			// was said in clear text.
			conn, c, secure = tc, textproto.NewConn(tc), true
			authed, from, to, inMail = s.opts.Username == "", "", nil, false
		case "HELO":
			reply(250, "mailtest")
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			if s.opts.Username == "" || !strings.EqualFold(mech, "PLAIN") {
				reply(504, "unrecognized authentication type")
				continue
			}
			if initial == "" {
				reply(334, "")
				if initial, err = c.ReadLine(); err != nil {
					return
				}
			}
			raw, err := base64.StdEncoding.DecodeString(initial)
			want := "\x00" + s.opts.Username + "\x00" + s.opts.Password
			if err != nil || string(raw) != want {
				reply(535, "authentication failed")
				continue
			}
			authed = true
			reply(235, "authenticated")
		case "MAIL":
			addr, ok := path(arg, "FROM:")
			switch {
			case !authed:
				reply(530, "authentication required")
			case !ok:
				reply(501, "syntax: MAIL FROM:<address>")
			default:
				from, to, inMail = addr, nil, true
				reply(250, "ok")
			}
		case "RCPT":
			addr, ok := path(arg, "TO:")
			switch {
			case !inMail:
				reply(503, "MAIL first")
			case !ok || addr == "":
				reply(501, "syntax: RCPT TO:<address>")
			default:
				to = append(to, addr)
				reply(250, "ok")
			}
		case "DATA":
			if len(to) == 0 {
				reply(503, "RCPT first")
				continue
			}
			reply(354, "end with <CRLF>.<CRLF>")
			data, err := c.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.messages = append(s.messages, Message{From: from, To: to, Data: bytes.Clone(data), TLS: secure})
			s.mu.Unlock()
			from, to, inMail = "", nil, false
			reply(250, "queued")
		case "RSET":
			from, to, inMail = "", nil, false
			reply(250, "ok")
		case "NOOP":
			reply(250, "ok")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			reply(502, "command not implemented")
		}
	}
}

// path reads "FROM:<address> [parameters]" (or TO:), the reverse- or
// forward-path of RFC 5321 section 4.1.2, without its parameters.
func path(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimLeft(arg[len(prefix):], " ")
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	addr, _, ok := strings.Cut(rest[1:], ">")
	return addr, ok
}
