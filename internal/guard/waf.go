package guard

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/types"

	"bursar/internal/errs"
)

// WAFMode says what the web application firewall does with a request that
// the Core Rule Set scores as an attack.
type WAFMode string

// The modes of the WAF.
const (
	WAFOn     WAFMode = "on"     // block (the default)
	WAFDetect WAFMode = "detect" // let it through, but report it as detected
	WAFOff    WAFMode = "off"    // do not inspect at all
)

// ParseWAFMode returns the mode that s names: on, off or detect.
func ParseWAFMode(s string) (WAFMode, error) {
	switch m := WAFMode(s); m {
	case WAFOn, WAFDetect, WAFOff:
		return m, nil
	}
	return "", fmt.Errorf("must be on, off or detect")
}

// The defaults of WAFConfig: the Core Rule Set's own, which it documents as
// the balance between false positives and protection for most sites.
const (
	DefaultParanoia          = 1
	DefaultInboundThreshold  = 5 // one critical finding in the request blocks it
	DefaultOutboundThreshold = 4 // one error-level finding in the response blocks it
)

// CodeRequestBlocked is the problem code of a request that the WAF refused.
const CodeRequestBlocked = "request_blocked"

// Events records what the guard refuses or notices, as security events.
// The server implements it; ruleIDs are the Core Rule Set rules that
// matched, the blocking evaluation rule (949110 or 959100) among them.
type Events interface {
	// Blocked is called once for every request that the WAF refused.
	Blocked(ctx context.Context, r *http.Request, ruleIDs []int)
	// Detected is called, in detect mode only, for a request that the WAF
	// would have refused in blocking mode.
	Detected(ctx context.Context, r *http.Request, ruleIDs []int)
}

// ProblemWriter answers a request with the problem document of e; the
// server passes the API's, so that the guard's refusals look like the
// API's own (same shape, same request id).
type ProblemWriter func(w http.ResponseWriter, r *http.Request, err error)

// WAFConfig configures the web application firewall. Zero values mean the
// defaults.
type WAFConfig struct {
	Mode WAFMode
	// Paranoia is the Core Rule Set paranoia level, 1 to 4: higher levels
	// run more rules and catch more, at the price of more false positives.
	Paranoia int
	// InboundThreshold is the request anomaly score at which a request is
	// blocked (a critical finding scores 5, an error 4, a warning 3).
	InboundThreshold int
	// OutboundThreshold is the response anomaly score at which a response
	// is withheld.
	OutboundThreshold int
	// MaxBodyBytes bounds the request body the WAF buffers and inspects; a
	// larger one is refused with 413. 0 means 1 MiB, the server's default.
	MaxBodyBytes int64
	// VerdictCacheSize is how many clean verdicts on requests without a
	// body the WAF remembers, to skip inspecting the same request again
	// (waf_verdicts.go); 0 means DefaultVerdictCacheSize, a negative
	// number turns the cache off.
	VerdictCacheSize int
	Events           Events
	Problem          ProblemWriter

	// directives are added after Coraza's recommended settings and before
	// the Core Rule Set's setup, and onMatch receives every matched rule:
	// both only for the regression test, which needs the Core Rule Set's
	// test configuration and a log of rule ids.
	directives string
	onMatch    func(types.MatchedRule)
}

// waf is the middleware. Its coraza.WAF holds the compiled rules and is safe
// for concurrent use; each request gets its own transaction.
type waf struct {
	cfg      WAFConfig
	waf      coraza.WAF
	next     http.Handler
	verdicts *verdicts // nil when the cache is off
}

// NewWAF returns next behind the OWASP Core Rule Set (embedded, run by
// Coraza). Compiling the rules takes a moment: build it once, at start.
func NewWAF(cfg WAFConfig, next http.Handler) (http.Handler, error) {
	if cfg.Mode == "" {
		cfg.Mode = WAFOn
	}
	if _, err := ParseWAFMode(string(cfg.Mode)); err != nil {
		return nil, fmt.Errorf("guard: WAF mode %q: %w", cfg.Mode, err)
	}
	if cfg.Mode == WAFOff {
		return next, nil
	}
	if cfg.Paranoia == 0 {
		cfg.Paranoia = DefaultParanoia
	}
	if cfg.Paranoia < 1 || cfg.Paranoia > 4 {
		return nil, fmt.Errorf("guard: WAF paranoia level %d: must be 1 to 4", cfg.Paranoia)
	}
	if cfg.InboundThreshold == 0 {
		cfg.InboundThreshold = DefaultInboundThreshold
	}
	if cfg.OutboundThreshold == 0 {
		cfg.OutboundThreshold = DefaultOutboundThreshold
	}
	if cfg.InboundThreshold < 1 || cfg.OutboundThreshold < 1 {
		return nil, fmt.Errorf("guard: WAF anomaly thresholds must be positive")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Problem == nil {
		return nil, fmt.Errorf("guard: WAF needs a ProblemWriter")
	}
	wc := coraza.NewWAFConfig().WithRootFS(coreruleset.FS).WithDirectives(directives(cfg))
	if cfg.onMatch != nil {
		wc = wc.WithErrorCallback(cfg.onMatch)
	}
	w, err := coraza.NewWAF(wc)
	if err != nil {
		return nil, fmt.Errorf("guard: compile WAF rules: %w", err)
	}
	size := cfg.VerdictCacheSize
	if size == 0 {
		size = DefaultVerdictCacheSize
	}
	return &waf{cfg: cfg, waf: w, next: next, verdicts: newVerdicts(size)}, nil
}

// AllowedMethods are the HTTP methods that the WAF lets through; any other
// is refused (rule 911100). The API's test checks that every route's method
// is among them.
func AllowedMethods() []string {
	return []string{"GET", "HEAD", "POST", "OPTIONS", "PATCH", "PUT", "DELETE"}
}

// directives is the whole Coraza configuration, in the order that matters:
// engine settings, then the Core Rule Set's setup and Bursar's settings of
// it (read by its rule 901 at run time), Bursar's run-time rules, the rule
// set, and last the exclusions, which can only name rules that exist.
func directives(cfg WAFConfig) string {
	engine := "On"
	if cfg.Mode == WAFDetect {
		engine = "DetectionOnly"
	}
	return fmt.Sprintf(`Include @coraza.conf-recommended
SecRuleEngine %s
# Bodies are held in memory up to the server's own limit, never in
# temporary files, and a larger one is refused rather than half inspected.
SecRequestBodyLimit %d
SecRequestBodyInMemoryLimit %d
SecRequestBodyLimitAction Reject
# The audit log is Bursar's own (guard.Events); Coraza writes no files.
SecAuditEngine Off
# The answers whose body the data leakage rules read (responseBodyTypes).
SecResponseBodyMimeTypesClear
SecResponseBodyMimeType %s
%s
Include @crs-setup.conf.example
SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=%d"
SecAction "id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=%d,setvar:tx.outbound_anomaly_score_threshold=%d"
# The API updates with PATCH, replaces with PUT and deletes with DELETE;
# the CRS allows none of them by default.
SecAction "id:900200,phase:1,pass,t:none,nolog,setvar:'tx.allowed_methods=%s'"
%s
Include @owasp_crs/*.conf
%s`, engine, cfg.MaxBodyBytes, cfg.MaxBodyBytes, strings.Join(responseBodyTypes, " "), cfg.directives, cfg.Paranoia, cfg.InboundThreshold, cfg.OutboundThreshold,
		strings.Join(AllowedMethods(), " "), bursarRulesBefore, bursarRulesAfter)
}

// Bursar's own rules and rule exclusions: those that act at run time
// (ctl:) come before the rule set so that they run before the rules they
// change, those that edit rules (SecRuleUpdateTargetById) after it, when the
// rules exist. Every exclusion names the fields or paths it applies to and
// says why they need it; docs/security/waf.md lists them. Rule ids
// 1000-1999 are Bursar's (the CRS reserves 900000 and up).
const bursarRulesBefore = `
# The API decodes every request body as JSON, whatever its Content-Type, so
# the WAF must parse it as JSON too: otherwise a JSON body sent as
# text/plain or form data would reach the API without its fields inspected.
# For the same reason a body without a Content-Type is legitimate there
# (Go's and many other HTTP clients send none by default) and is inspected
# all the same: rule 920340, which scores that as critical, is lifted for
# /v1/ alone. So is 920180 (a POST without Content-Length): the API's
# actions (finalize, void, mark-uncollectible) take no body, and curl -X
# POST sends none and no length; an absent body hides nothing. And so is
# 920350 (a Host that is an IP address): a self-hosted server is commonly
# reached by its address (http://127.0.0.1:8080, http://10.0.0.5:8080), and
# every API request must carry a valid key anyway.
SecRule REQUEST_FILENAME "@beginsWith /v1/" "id:1001,phase:1,pass,nolog,t:none,ctl:requestBodyProcessor=JSON,ctl:ruleRemoveById=920340,ctl:ruleRemoveById=920180,ctl:ruleRemoveById=920350"
`

const bursarRulesAfter = `
# Free-text fields: invoice notes and footer, line descriptions (invoices
# and credit notes), customer notes. People write ordinary sentences there
# that read like SQL ("SELECT the best option; drop by our office"). They are
# only ever stored through bound query parameters, never spliced into SQL,
# so the SQL injection rules (942xxx) are lifted for these fields alone. The
# XSS, code and shell injection rules still apply: the text is rendered into
# the portal and PDFs.
SecRuleUpdateTargetById 942000-942999 "!ARGS:json.notes"
SecRuleUpdateTargetById 942000-942999 "!ARGS:json.footer"
SecRuleUpdateTargetById 942000-942999 "!ARGS:/^json\.lines\.\d+\.description$/"
`

// ServeHTTP inspects the request (headers, then body), runs next, and
// inspects its answer before it leaves. The answer is buffered so that a
// refusal in the response phase can still replace it. A request without a
// body that passed clean before skips the request phases (see
// waf_verdicts.go).
func (g *waf) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.verdicts == nil || !cacheableRequest(r) {
		g.inspect(w, r, nil)
		return
	}
	k := keyOf(r)
	if !g.verdicts.passed(k) {
		g.inspect(w, r, &k)
		return
	}
	rec := g.run(w, r)
	if !responseInspected(rec.status, rec.header) {
		rec.send(w)
		return
	}
	// The answer is one the response rules read: they need the request
	// phases' state, so the (known clean) request is shown to them again.
	tx := g.newTransaction(r)
	defer func() { _ = tx.Close() }()
	if it, err := inspectRequest(tx, r); err != nil || it != nil {
		// Cannot happen for a request that passed clean before, but if it
		// does, the answer is withheld rather than sent uninspected.
		g.refuse(w, r, tx, it, err)
		return
	}
	g.respond(w, r, tx, rec, nil)
}

// inspect runs the whole transaction: the request phases, next, and the
// response phases. If key is set and the exchange passed without a single
// finding, the request's verdict is remembered.
func (g *waf) inspect(w http.ResponseWriter, r *http.Request, key *verdictKey) {
	tx := g.newTransaction(r)
	// The logging phase (5) runs before the answer leaves, not after: its
	// rules then see the whole exchange, and what they report is recorded
	// before the client can send its next request.
	defer func() { _ = tx.Close() }()
	if it, err := inspectRequest(tx, r); err != nil || it != nil {
		g.refuse(w, r, tx, it, err)
		return
	}
	g.respond(w, r, tx, g.run(w, r), key)
}

func (g *waf) newTransaction(r *http.Request) types.Transaction {
	if wo, ok := g.waf.(experimental.WAFWithOptions); ok {
		return wo.NewTransactionWithOptions(experimental.Options{Context: r.Context()})
	}
	return g.waf.NewTransaction()
}

// refuse answers a request whose inspection failed (err) or was
// interrupted (it).
func (g *waf) refuse(w http.ResponseWriter, r *http.Request, tx types.Transaction, it *types.Interruption, err error) {
	if err != nil {
		tx.ProcessLogging()
		g.cfg.Problem(w, r, errs.E(errs.Invalid, "malformed_json", "the request body could not be read"))
		return
	}
	g.interrupted(w, r, tx, it)
}

// run serves the request with next into a buffer. next writes into a copy
// of the headers, so that a response the WAF withholds leaves nothing of
// its own behind, while the headers set before it (the request id, rate
// limits) stay either way.
func (g *waf) run(w http.ResponseWriter, r *http.Request) *bufferedResponse {
	rec := &bufferedResponse{header: w.Header().Clone()}
	g.next.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec
}

// respond runs the response phases over next's answer and sends it, unless
// they withhold it.
func (g *waf) respond(w http.ResponseWriter, r *http.Request, tx types.Transaction, rec *bufferedResponse, key *verdictKey) {
	for k, vs := range rec.header {
		for _, v := range vs {
			tx.AddResponseHeader(k, v)
		}
	}
	if it := tx.ProcessResponseHeaders(rec.status, r.Proto); it != nil {
		g.interrupted(w, r, tx, it)
		return
	}
	if tx.IsResponseBodyAccessible() && tx.IsResponseBodyProcessable() {
		if it, _, err := tx.WriteResponseBody(rec.body.Bytes()); err == nil && it != nil {
			g.interrupted(w, r, tx, it)
			return
		}
		if it, err := tx.ProcessResponseBody(); err == nil && it != nil {
			g.interrupted(w, r, tx, it)
			return
		}
	}
	tx.ProcessLogging()
	ids := matchedRuleIDs(tx)
	if g.cfg.Mode == WAFDetect && g.cfg.Events != nil && wouldBlock(ids) {
		g.cfg.Events.Detected(r.Context(), r, ids)
	}
	if key != nil && len(ids) == 0 {
		g.verdicts.remember(*key)
	}
	rec.send(w)
}

// inspectRequest gives the transaction the request's connection, line,
// headers and body, stopping at the first interruption. The body is read
// into the transaction and handed on to next from there.
func inspectRequest(tx types.Transaction, r *http.Request) (*types.Interruption, error) {
	client, port := clientAndPort(r.RemoteAddr)
	tx.ProcessConnection(client, port, "", 0)
	tx.ProcessURI(r.URL.String(), r.Method, r.Proto)
	for k, vs := range r.Header {
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	// net/http moves Host and Transfer-Encoding out of the header map; the
	// rules need both (920280, 920171 and the request smuggling rules).
	if r.Host != "" {
		tx.AddRequestHeader("Host", r.Host)
		tx.SetServerName(r.Host)
	}
	for _, te := range r.TransferEncoding {
		tx.AddRequestHeader("Transfer-Encoding", te)
	}
	if it := tx.ProcessRequestHeaders(); it != nil {
		return it, nil
	}
	if tx.IsRequestBodyAccessible() && r.Body != nil && r.Body != http.NoBody {
		it, _, err := tx.ReadRequestBodyFrom(r.Body)
		if err != nil {
			return nil, fmt.Errorf("guard: read request body: %w", err)
		}
		if it != nil {
			return it, nil
		}
		body, err := tx.RequestBodyReader()
		if err != nil {
			return nil, fmt.Errorf("guard: request body: %w", err)
		}
		// next reads what the transaction holds, then the rest: in
		// blocking mode a body over the limit was refused above, but in
		// detect mode it goes on whole, to be refused by the API's own
		// limit rather than cut short.
		r.Body = readCloser{io.MultiReader(body, r.Body), r.Body}
	}
	return tx.ProcessRequestBody()
}

// clientAndPort splits a request's RemoteAddr as the WAF is shown it.
func clientAndPort(remote string) (string, int) {
	i := strings.LastIndexByte(remote, ':')
	if i == -1 {
		return remote, 0
	}
	port, _ := strconv.Atoi(remote[i+1:])
	return strings.Trim(remote[:i], "[]"), port
}

// readCloser reads the body from the transaction and closes the original.
type readCloser struct {
	r io.Reader
	c io.Closer
}

func (rc readCloser) Read(p []byte) (int, error) { return rc.r.Read(p) }
func (rc readCloser) Close() error               { return rc.c.Close() }

// interrupted answers a request that a rule interrupted. A body over the
// limit and a body that does not parse get the API's own answers to them
// (the API would give the same); everything else is an attack, refused
// with request_blocked and recorded.
func (g *waf) interrupted(w http.ResponseWriter, r *http.Request, tx types.Transaction, it *types.Interruption) {
	tx.ProcessLogging()
	ids := matchedRuleIDs(tx)
	switch {
	case it.Status == http.StatusRequestEntityTooLarge:
		g.cfg.Problem(w, r, errs.E(errs.TooLarge, "request_too_large", "the request body is larger than %d bytes", g.cfg.MaxBodyBytes))
		return
	case slices.Contains(ids, ruleRequestBodyError):
		g.cfg.Problem(w, r, errs.E(errs.Invalid, "malformed_json", "the request body is not valid JSON"))
		return
	}
	if g.cfg.Events != nil {
		g.cfg.Events.Blocked(r.Context(), r, ids)
	}
	g.cfg.Problem(w, r, errs.E(errs.Forbidden, CodeRequestBlocked,
		"the request was refused by the web application firewall; quote the request id if you believe this is a mistake"))
}

// Rule ids that the guard treats specially.
const (
	ruleRequestBodyError   = 200002 // Coraza: the body did not parse
	ruleInboundEvaluation  = 949110 // CRS: inbound anomaly score exceeded
	ruleOutboundEvaluation = 959100 // CRS: outbound anomaly score exceeded
)

// matchedRuleIDs lists the rules that matched and say why, in order: the
// rule set's bookkeeping rules have no message, and its initialization
// rules (900000-901999) find nothing about the request.
func matchedRuleIDs(tx types.Transaction) []int {
	var ids []int
	for _, m := range tx.MatchedRules() {
		id := m.Rule().ID()
		if m.Message() != "" && (id < 900000 || id >= 902000) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// wouldBlock reports whether ids include a blocking evaluation, which fires
// (without blocking) in detect mode too.
func wouldBlock(ids []int) bool {
	return slices.Contains(ids, ruleInboundEvaluation) || slices.Contains(ids, ruleOutboundEvaluation)
}

// bufferedResponse holds next's answer until the response phase has passed
// it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// send writes the held answer to w, in place of whatever w's headers held.
func (b *bufferedResponse) send(w http.ResponseWriter) {
	h := w.Header()
	clear(h)
	maps.Copy(h, b.header)
	w.WriteHeader(b.status)
	// #nosec G705 -- the answer is the handler's behind the WAF, passed on as it wrote it (its own encoding and Content-Type), after the response phases inspected it; the WAF adds nothing of the request to it.
	_, _ = w.Write(b.body.Bytes())
}
