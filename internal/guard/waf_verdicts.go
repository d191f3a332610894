package guard

import (
	"crypto/sha256"
	"encoding/binary"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// The verdict cache: the Core Rule Set costs about half a millisecond of CPU
// per request, ten times what the API needs to serve a stored invoice, and
// API clients repeat the same requests (polling an invoice, a list, a
// checkpoint). The rule set's verdict on a request is a function of what
// the WAF is shown of it, nothing else: Bursar enables none of its
// persistent collections (per-address or global state), and at a sampling
// percentage of 100 (the default, which Bursar keeps) no rule reads the
// transaction's random id or the time. So a request without a body that
// the rules passed without a single finding will pass again, unchanged, if
// everything the WAF read of it is byte for byte the same; the cache
// remembers those, by a SHA-256 of that content, and lets them skip the
// request phases.
//
// What the cache does not change: a request with a body, or one the rules
// found anything in (even below the blocking threshold), is inspected every
// time; only clean passes are remembered. The response phases run as
// before for every answer the rules can read: one whose body the WAF
// inspects (responseBodyTypes) or a 5xx status (rule 950100). The rule
// set's response rules read nothing else (TestResponseRulesReadOnlyBodyAndStatus
// fails if a new version of it does), so for an answer of another type and
// status the response phases have nothing to find and are skipped.

// responseBodyTypes are the media types of the answers whose body the WAF
// inspects (the rule set's data leakage rules); the same as Coraza's
// recommended configuration, set here explicitly so that the verdict cache
// and the rules agree on them.
var responseBodyTypes = []string{"text/plain", "text/html", "text/xml"}

// DefaultVerdictCacheSize is how many clean verdicts the WAF remembers when
// WAFConfig.VerdictCacheSize is 0: about 40 bytes each.
const DefaultVerdictCacheSize = 16384

// verdictKey names everything the WAF is shown of a request without a
// body: the client address (not its port, which no rule reads and which
// changes with every connection), the request line, the host and the
// headers.
type verdictKey [sha256.Size]byte

// verdicts is a bounded set of the keys of requests that passed clean.
// When full, an arbitrary entry makes room: an attacker who floods it with
// distinct clean requests only makes others inspected again, never skipped.
type verdicts struct {
	mu   sync.RWMutex
	max  int
	keys map[verdictKey]struct{}
}

func newVerdicts(max int) *verdicts {
	if max <= 0 {
		return nil
	}
	return &verdicts{max: max, keys: make(map[verdictKey]struct{})}
}

// passed reports whether the request of key passed clean before.
func (v *verdicts) passed(k verdictKey) bool {
	if v == nil {
		return false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	_, ok := v.keys[k]
	return ok
}

// remember records that the request of key passed clean.
func (v *verdicts) remember(k verdictKey) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.keys) >= v.max {
		for old := range v.keys {
			delete(v.keys, old)
			break
		}
	}
	v.keys[k] = struct{}{}
}

// cacheableRequest reports whether a verdict on r may be remembered: only
// a request without a body, whose whole content is its line and headers.
// For a request the server received, a Content-Length of 0 and no
// Transfer-Encoding is exactly that (net/http gives it an empty body);
// the body itself may be wrapped by a limit in front of the WAF.
func cacheableRequest(r *http.Request) bool {
	return r.ContentLength == 0 && len(r.TransferEncoding) == 0
}

// keyOf hashes what inspectRequest shows the WAF of a request without a
// body. Every part is length-prefixed, so that no two requests share a key
// by moving bytes from one part to the next; headers are sorted by name,
// their values kept in order.
func keyOf(r *http.Request) verdictKey {
	h := sha256.New()
	var n [8]byte
	part := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	client, _ := clientAndPort(r.RemoteAddr)
	part(client)
	part(r.Method)
	part(r.URL.String())
	part(r.Proto)
	part(r.Host)
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		part(name)
		vs := r.Header[name]
		binary.BigEndian.PutUint64(n[:], uint64(len(vs)))
		h.Write(n[:])
		for _, v := range vs {
			part(v)
		}
	}
	var k verdictKey
	h.Sum(k[:0])
	return k
}

// responseInspected reports whether the response phases can find anything
// in an answer: its body is of a type the WAF reads, or its status is a
// server error.
func responseInspected(status int, header http.Header) bool {
	if status >= 500 {
		return true
	}
	ct := header.Get("Content-Type")
	if ct == "" {
		return true // Coraza would not know the type either; inspect it
	}
	media, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return true
	}
	return slices.Contains(responseBodyTypes, strings.ToLower(media))
}
