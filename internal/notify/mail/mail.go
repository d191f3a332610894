// Package mail sends email: invitations, password resets and other notices
// that carry a link. Send goes through SMTP when BURSAR_SMTP_URL is set, and
// otherwise through a logging fallback that writes the message, link
// included, to the log at warning level, so that a single-user install
// without a mail server can still follow its own links.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Message is one plain-text email to one recipient.
type Message struct {
	To      string // an address, optionally with a display name: "Ann <ann@example.com>"
	Subject string // one line; non-ASCII is fine
	Text    string // the body, plain text; lines end in "\n"
}

// Sender sends a Message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage is wrapped by every error about a Message that cannot be
// sent as given: it is the caller's fault and retrying will not help.
var ErrInvalidMessage = errors.New("mail: invalid message")

// maxSubject bounds the subject so that its header stays well inside
// RFC 5322's 998-character line limit even after encoding.
const maxSubject = 200

// New returns the Sender for the value of BURSAR_SMTP_URL: an SMTP sender
// for a URL (see ParseURL), the logging fallback for an empty string.
func New(smtpURL string, log *slog.Logger) (Sender, error) {
	if strings.TrimSpace(smtpURL) == "" {
		return &LogSender{Log: log}, nil
	}
	cfg, err := ParseURL(smtpURL)
	if err != nil {
		return nil, err
	}
	return NewSMTP(cfg), nil
}

// check refuses what would let a caller's data write headers or SMTP
// commands of its own: a line break in the subject or the address. The
// body may hold line breaks; it is encoded and cannot end the headers.
func (m Message) check() (*mail.Address, error) {
	if strings.ContainsAny(m.To, "\r\n") {
		return nil, fmt.Errorf("%w: the recipient contains a line break", ErrInvalidMessage)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("%w: the subject contains a line break", ErrInvalidMessage)
	}
	if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Text) {
		return nil, fmt.Errorf("%w: the subject or text is not UTF-8", ErrInvalidMessage)
	}
	if utf8.RuneCountInString(m.Subject) > maxSubject {
		return nil, fmt.Errorf("%w: the subject is longer than %d characters", ErrInvalidMessage, maxSubject)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %v", ErrInvalidMessage, m.To, err)
	}
	return to, nil
}

// LogSender is the fallback for an install without a mail server: it logs
// each message at warning level, so that the operator sees both that mail
// is not configured and the link the message carries. The log then holds
// whatever the message holds (a reset link is a credential until it is
// used or expires), which is why this is a fallback and not a mode.
type LogSender struct {
	Log *slog.Logger
}

// Send logs m and returns nil; it refuses the same messages SMTP would, so
// that a bug does not hide until mail is configured.
func (s *LogSender) Send(ctx context.Context, m Message) error {
	to, err := m.check()
	if err != nil {
		return err
	}
	s.Log.WarnContext(ctx, "mail: BURSAR_SMTP_URL is not set, so this message was logged instead of sent",
		"to", to.Address, "subject", m.Subject, "text", m.Text)
	return nil
}
