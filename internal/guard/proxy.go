package guard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the networks whose forwarding headers are believed.
// The zero value trusts nobody: the client address is the direct peer's.
type TrustedProxies struct {
	nets []netip.Prefix
}

// ParseTrustedProxies reads a comma-separated list of CIDRs or single
// addresses ("10.0.0.0/8, 192.0.2.7, fd00::/8"). An empty string trusts
// nobody.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var tp TrustedProxies
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := ParsePrefix(part)
		if err != nil {
			return TrustedProxies{}, err
		}
		tp.nets = append(tp.nets, p)
	}
	return tp, nil
}

// ParsePrefix reads a CIDR ("203.0.113.0/24", "2001:db8::/32") or a single
// address, which stands for itself (/32 or /128). The prefix is masked, so
// "203.0.113.7/24" and "203.0.113.0/24" are the same network; an IPv4
// address written in IPv6 form (::ffff:192.0.2.1) is taken as IPv4.
func ParsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32", s)
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%q mixes an IPv4-mapped address with a prefix shorter than /96", s)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Trusts reports whether a is inside one of the trusted networks.
func (tp TrustedProxies) Trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range tp.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Empty reports whether no proxy is trusted.
func (tp TrustedProxies) Empty() bool { return len(tp.nets) == 0 }

// ClientAddr returns the address of the client that made r. Forwarding
// headers are honoured only when the direct peer is a trusted proxy, and
// then the chain is walked from the right (the hop nearest to us, written
// by our own proxy) to the left, skipping trusted proxies: the first
// untrusted address is the client. Anything to its left was written by the
// client itself and proves nothing, so a spoofed "X-Forwarded-For: 1.2.3.4"
// never becomes the client address. Forwarded (RFC 7239) is preferred over
// X-Forwarded-For when both are present, as it is the standard one. A chain
// that holds an unparseable element stops at it and falls back to the last
// trusted hop, since a proxy we trust wrote nothing that we cannot read.
func (tp TrustedProxies) ClientAddr(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !tp.Trusts(peer) {
		return peer
	}
	var chain []string
	if fwd := r.Header.Values("Forwarded"); len(fwd) > 0 {
		chain = forwardedFor(fwd)
	} else {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for part := range strings.SplitSeq(v, ",") {
				chain = append(chain, strings.TrimSpace(part))
			}
		}
	}
	client := peer
	for i := len(chain) - 1; i >= 0; i-- {
		a := parseHop(chain[i])
		if !a.IsValid() {
			return client
		}
		client = a
		if !tp.Trusts(a) {
			return a
		}
	}
	return client
}

// peerAddr parses the host of a RemoteAddr ("192.0.2.1:1234",
// "[2001:db8::1]:1234").
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// forwardedFor returns the for= values of Forwarded header fields, in
// order (RFC 7239 §4: elements separated by commas, pairs by semicolons).
func forwardedFor(fields []string) []string {
	var out []string
	for _, f := range fields {
		for elem := range strings.SplitSeq(f, ",") {
			found := ""
			for pair := range strings.SplitSeq(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					found = strings.Trim(v, `"`)
				}
			}
			// An element without for= is a hop we cannot place: keep it
			// as an unreadable entry so the walk stops there.
			out = append(out, found)
		}
	}
	return out
}

// parseHop reads one address of a forwarding chain: "192.0.2.1",
// "192.0.2.1:80", "[2001:db8::1]", "[2001:db8::1]:80" or "2001:db8::1".
// Obfuscated identifiers ("unknown", "_hidden") are not addresses.
func parseHop(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

type ctxKey int

const clientAddrKey ctxKey = iota

// WithClientAddr returns a handler that resolves the client address of
// each request once, with tp, and puts it in the request's context for
// everything after it (rate limits, address rules, logs): see
// ClientAddrFrom.
func WithClientAddr(tp TrustedProxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := tp.ClientAddr(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientAddrKey, a)))
	})
}

// ClientAddrFrom returns the client address that WithClientAddr put in
// ctx; ok is false when there is none (a request that did not pass
// through WithClientAddr, or a peer whose address is not IP).
func ClientAddrFrom(ctx context.Context) (a netip.Addr, ok bool) {
	a, ok = ctx.Value(clientAddrKey).(netip.Addr)
	return a, ok && a.IsValid()
}
