package mailtest

import (
	"net/textproto"
	"testing"
)

// TestProtocolOrder drives the server by hand: commands out of order and
// MAIL before AUTH are refused with the RFC 5321 codes, and a message sent
// after them arrives dot-unstuffed.
func TestProtocolOrder(t *testing.T) {
	srv := NewServer(t, Options{Username: "u", Password: "p"})
	c, err := textproto.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expect := func(code int, cmd string) {
		t.Helper()
		if cmd != "" {
			if err := c.PrintfLine("%s", cmd); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := c.ReadResponse(code); err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
	}
	expect(220, "")
	expect(250, "EHLO client.example")
	expect(530, "MAIL FROM:<a@example.com>")
	expect(535, "AUTH PLAIN AHUAd3Jvbmc=") // \0u\0wrong
	expect(235, "AUTH PLAIN AHUAcA==")     // \0u\0p
	expect(503, "RCPT TO:<b@example.com>")
	expect(503, "DATA")
	expect(250, "MAIL FROM:<a@example.com> SIZE=10")
	expect(501, "RCPT TO:b@example.com")
	expect(250, "RCPT TO:<b@example.com>")
	expect(354, "DATA")
	expect(250, "Subject: x\r\n\r\n..dot\r\n.")
	expect(221, "QUIT")
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].From != "a@example.com" || len(msgs[0].To) != 1 || string(msgs[0].Data) != "Subject: x\n\n.dot\n" {
		t.Fatalf("messages %+v", msgs)
	}
}
