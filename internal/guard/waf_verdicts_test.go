package guard

import (
	"bufio"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
)

// getFrom sends a GET as an API client does, from the given address.
func getFrom(h http.Handler, target, remote string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr = remote
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", "curl/8.11.1")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// A clean request is remembered and an attack never is, so the attack is
// blocked however often it comes, and so is a remembered request with one
// header changed into an attack.
func TestWAFVerdictCacheRemembersOnlyCleanPasses(t *testing.T) {
	h, ev := newTestWAF(t, WAFConfig{}, echo)
	g := h.(*waf)
	clean := httptest.NewRequest("GET", "/v1/invoices?status=open", nil)
	clean.RemoteAddr = "192.0.2.1:40000"
	clean.Header.Set("Accept", "application/json")
	clean.Header.Set("User-Agent", "curl/8.11.1")
	for range 2 {
		if w := getFrom(h, "/v1/invoices?status=open", "192.0.2.1:40000", nil); w.Code != http.StatusOK {
			t.Fatalf("clean GET: status %d", w.Code)
		}
	}
	if !g.verdicts.passed(keyOf(clean)) {
		t.Fatal("the clean GET was not remembered")
	}
	// Another source port is the same request to the rules; another
	// address is not.
	clean.RemoteAddr = "192.0.2.1:40001"
	if !g.verdicts.passed(keyOf(clean)) {
		t.Error("the same request from another port of the address is not the same key")
	}
	clean.RemoteAddr = "192.0.2.2:40000"
	if g.verdicts.passed(keyOf(clean)) {
		t.Error("the same request from another address has the same key")
	}

	attack := "/v1/invoices?status=" + url.QueryEscape("' OR 1=1--")
	for i := range 3 {
		if w := getFrom(h, attack, "192.0.2.1:40000", nil); w.Code != http.StatusForbidden {
			t.Fatalf("attack #%d: status %d, want 403", i+1, w.Code)
		}
	}
	if len(ev.blocked) != 3 {
		t.Errorf("%d blocks recorded, want 3", len(ev.blocked))
	}
	// The remembered request, with a header that carries an attack.
	w := getFrom(h, "/v1/invoices?status=open", "192.0.2.1:40000", map[string]string{"User-Agent": "sqlmap/1.7.2#stable (https://sqlmap.org)"})
	if w.Code != http.StatusForbidden {
		t.Errorf("remembered request with a scanner's User-Agent: status %d, want 403", w.Code)
	}
	if n := len(g.verdicts.keys); n != 1 {
		t.Errorf("%d verdicts remembered, want 1 (the clean GET)", n)
	}
}

// A request with a finding below the blocking threshold passes but is
// inspected (and so reported in detect mode) every time.
func TestWAFVerdictCacheSkipsRequestsWithFindings(t *testing.T) {
	h, ev := newTestWAF(t, WAFConfig{Mode: WAFDetect}, echo)
	attack := "/v1/invoices?status=" + url.QueryEscape("' OR 1=1--")
	for range 3 {
		if w := getFrom(h, attack, "192.0.2.1:40000", nil); w.Code != http.StatusOK {
			t.Fatalf("detect mode: status %d", w.Code)
		}
	}
	if len(ev.detected) != 3 {
		t.Errorf("%d detections, want 3: a request with findings must not be remembered", len(ev.detected))
	}
	if n := len(h.(*waf).verdicts.keys); n != 0 {
		t.Errorf("%d verdicts remembered, want 0", n)
	}
}

// A remembered request still has its answer inspected when the response
// rules can read it: here the same clean GET is answered first with JSON,
// then with an HTML page that leaks a database error, which is withheld.
func TestWAFVerdictCacheStillInspectsReadableAnswers(t *testing.T) {
	var calls atomic.Int32
	flaky := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1, 2:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok": true}`)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version</p>")
		}
	})
	h, ev := newTestWAF(t, WAFConfig{}, flaky)
	for i := range 2 {
		if w := getFrom(h, "/portal/invoices", "192.0.2.1:40000", nil); w.Code != http.StatusOK {
			t.Fatalf("GET #%d: status %d", i+1, w.Code)
		}
	}
	w := getFrom(h, "/portal/invoices", "192.0.2.1:40000", nil)
	if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "SQL syntax") {
		t.Fatalf("leaking answer to a remembered request: status %d body %q, want it withheld", w.Code, w.Body.String())
	}
	if len(ev.blocked) != 1 {
		t.Errorf("%d blocks recorded, want 1", len(ev.blocked))
	}
}

// The cache is bounded: when full, an entry makes room.
func TestVerdictsBounded(t *testing.T) {
	v := newVerdicts(3)
	for i := range 10 {
		v.remember(verdictKey{byte(i)})
	}
	if len(v.keys) != 3 {
		t.Errorf("%d entries, want 3", len(v.keys))
	}
	if !v.passed(verdictKey{9}) {
		t.Error("the newest entry is missing")
	}
	if newVerdicts(-1) != nil || newVerdicts(-1).passed(verdictKey{}) {
		t.Error("a negative size must turn the cache off")
	}
}

// No two requests that the rules see differently share a key.
func TestKeyOfDistinguishesRequests(t *testing.T) {
	base := func() *http.Request {
		r := httptest.NewRequest("GET", "/v1/invoices?status=open", nil)
		r.RemoteAddr = "192.0.2.1:40000"
		r.Header.Set("Accept", "application/json")
		r.Header.Set("X-A", "1")
		return r
	}
	variants := map[string]func(r *http.Request){
		"method":              func(r *http.Request) { r.Method = "HEAD" },
		"path":                func(r *http.Request) { r.URL.Path = "/v1/invoice" },
		"query":               func(r *http.Request) { r.URL.RawQuery = "status=paid" },
		"proto":               func(r *http.Request) { r.Proto = "HTTP/1.0" },
		"host":                func(r *http.Request) { r.Host = "other.example" },
		"address":             func(r *http.Request) { r.RemoteAddr = "192.0.2.9:40000" },
		"header value":        func(r *http.Request) { r.Header.Set("X-A", "2") },
		"header added":        func(r *http.Request) { r.Header.Set("X-B", "1") },
		"second value":        func(r *http.Request) { r.Header.Add("X-A", "1") },
		"value moved to name": func(r *http.Request) { r.Header.Del("X-A"); r.Header["X-A1"] = []string{""} },
		"values split":        func(r *http.Request) { r.Header["X-A"] = []string{"", "1"} },
	}
	k := keyOf(base())
	for name, change := range variants {
		r := base()
		change(r)
		if keyOf(r) == k {
			t.Errorf("%s: same key as the base request", name)
		}
	}
	if r := base(); keyOf(r) != k {
		t.Error("the same request gave another key")
	}
}

// The verdict cache skips the response phases for an answer that is not a
// server error and whose body the WAF does not read. That is sound only
// while the rule set's response rules read nothing but the body, the
// status, the Content-Encoding header and their own settings, and while
// the only status they match on their own is 5xx (rule 950100; the others
// are chained to a body match). This test reads the embedded rule files and
// fails when a new version of the rule set breaks that, so that the cache
// is reconsidered before the upgrade lands.
func TestResponseRulesReadOnlyBodyAndStatus(t *testing.T) {
	rules := 0
	err := fs.WalkDir(coreruleset.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".conf" {
			return err
		}
		b, err := fs.ReadFile(coreruleset.FS, p)
		if err != nil {
			return err
		}
		response := strings.HasPrefix(path.Base(p), "RESPONSE-")
		stmts := secRules(string(b))
		for i, st := range stmts {
			phase := phaseOf(st.actions)
			if !response {
				if phase == "3" || phase == "4" || phase == "response" {
					t.Errorf("%s: request rule %q runs in the response phase %s", p, st.vars, phase)
				}
				continue
			}
			rules++
			for _, v := range strings.Split(st.vars, "|") {
				v = strings.TrimPrefix(strings.TrimPrefix(v, "!"), "&")
				switch {
				case v == "RESPONSE_BODY", v == "RESPONSE_HEADERS:Content-Encoding", strings.HasPrefix(strings.ToUpper(v), "TX:"):
				case v == "RESPONSE_STATUS":
					chainedToBody := strings.Contains(st.actions, "chain") && i+1 < len(stmts) && stmts[i+1].vars == "RESPONSE_BODY"
					if st.operator != `@rx ^5\d{2}$` && !chainedToBody {
						t.Errorf("%s: a rule matches status %q without a body match", p, st.operator)
					}
				default:
					t.Errorf("%s: a response rule reads %s, which the verdict cache assumes none does", p, v)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rules < 50 {
		t.Fatalf("read %d response rules; the rule files were not found", rules)
	}
}

type secRule struct{ vars, operator, actions string }

var secRuleRE = regexp.MustCompile(`^SecRule\s+(\S+)\s+"((?:[^"\\]|\\.)*)"\s*(?:"((?:[^"\\]|\\.)*)")?`)

// secRules parses the SecRule statements of a rule file, joining
// continued lines.
func secRules(conf string) []secRule {
	var out []secRule
	var stmt strings.Builder
	sc := bufio.NewScanner(strings.NewReader(conf))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if stmt.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			stmt.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		stmt.WriteString(line)
		if m := secRuleRE.FindStringSubmatch(stmt.String()); m != nil {
			out = append(out, secRule{vars: m[1], operator: m[2], actions: m[3]})
		}
		stmt.Reset()
	}
	return out
}

var phaseRE = regexp.MustCompile(`phase:(\w+)`)

func phaseOf(actions string) string {
	if m := phaseRE.FindStringSubmatch(actions); m != nil {
		return m[1]
	}
	return ""
}
