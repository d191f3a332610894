package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"
)

// syslogForwarder sends audit entries to a SIEM as RFC 5424 messages: over
// UDP one message per datagram (RFC 5426), over TCP with octet-counting
// framing (RFC 6587).
type syslogForwarder struct {
	conn     net.Conn
	stream   bool
	hostname string
}

// syslogPriority is facility 13 (log audit) at severity 6 (informational).
const syslogPriority = 13*8 + 6

func dialSyslog(raw string) (*syslogForwarder, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "udp" && u.Scheme != "tcp") || u.Host == "" || u.Port() == "" {
		return nil, errors.New("want udp://HOST:PORT or tcp://HOST:PORT")
	}
	conn, err := net.DialTimeout(u.Scheme, u.Host, 10*time.Second)
	if err != nil {
		return nil, err
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "-"
	}
	return &syslogForwarder{conn: conn, stream: u.Scheme == "tcp", hostname: host}, nil
}

// Send forwards one leaf: the message is the leaf itself, so a SIEM holds
// the exact bytes that the Merkle tree hashes.
func (f *syslogForwarder) Send(at time.Time, leaf []byte) error {
	msg := fmt.Appendf(nil, "<%d>1 %s %s bursar - audit - ", syslogPriority, at.UTC().Format("2006-01-02T15:04:05.000000Z"), f.hostname)
	msg = append(msg, leaf...)
	if f.stream {
		msg = append(fmt.Appendf(nil, "%d ", len(msg)), msg...)
	}
	if err := f.conn.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	_, err := f.conn.Write(msg)
	return err
}

// Close closes the connection.
func (f *syslogForwarder) Close() error { return f.conn.Close() }
