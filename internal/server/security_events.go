package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"bursar/internal/api"
	"bursar/internal/audit"
	"bursar/internal/auth"
	"bursar/internal/guard"
)

// logEvents records the guard's security events as warnings in the log.
type logEvents struct{ log *slog.Logger }

// Blocked logs a request that the WAF refused, with the rules that caught
// it. The query is left out: it is the attack, and may carry personal data.
func (e logEvents) Blocked(ctx context.Context, r *http.Request, ruleIDs []int) {
	e.log.WarnContext(ctx, "guard: request blocked by the WAF", e.attrs(ctx, r, ruleIDs)...)
}

// Detected logs a request that the WAF, in detect mode, would have refused.
func (e logEvents) Detected(ctx context.Context, r *http.Request, ruleIDs []int) {
	e.log.WarnContext(ctx, "guard: WAF detected an attack (detect mode, not blocked)", e.attrs(ctx, r, ruleIDs)...)
}

func (logEvents) attrs(ctx context.Context, r *http.Request, ruleIDs []int) []any {
	return []any{"request_id", api.RequestID(ctx), "method", r.Method, "path", r.URL.Path,
		"remote_addr", r.RemoteAddr, "rules", ruleIDs}
}

// auditEvents records the guard's security events in the audit log as well
// as in the log (DESIGN.md §7: every security event is audited). They go to
// the system tree: the WAF stands in front of authentication, so the
// organization a blocked request meant to reach is not known.
//
// Each client address has a budget of entries (auditBurst at once, then
// one per auditEvery): a scanner sends thousands of attacks a minute, and
// each entry is a transaction under the system tree's lock. Past the budget
// an event is logged only, marked so; the log says how many were not
// audited, the audit log keeps the first of every burst.
type auditEvents struct {
	logEvents
	audit  *audit.Log
	now    func() time.Time
	budget addressBudget
}

const (
	auditBurst = 20
	auditEvery = 6 * time.Second
)

// Blocked logs the refusal and appends a waf.blocked entry.
func (e *auditEvents) Blocked(ctx context.Context, r *http.Request, ruleIDs []int) {
	e.record(ctx, r, "waf.blocked", ruleIDs, e.logEvents.Blocked)
}

// Detected logs what detect mode let through and appends a waf.detected
// entry.
func (e *auditEvents) Detected(ctx context.Context, r *http.Request, ruleIDs []int) {
	e.record(ctx, r, "waf.detected", ruleIDs, e.logEvents.Detected)
}

func (e *auditEvents) record(ctx context.Context, r *http.Request, action string, ruleIDs []int,
	logged func(context.Context, *http.Request, []int)) {
	logged(ctx, r, ruleIDs)
	addr := clientAddr(ctx, r)
	if !e.budget.allow(addr, e.now()) {
		e.log.WarnContext(ctx, "guard: security event over the address's audit budget, logged only",
			"request_id", api.RequestID(ctx), "action", action)
		return
	}
	rules, _ := json.Marshal(ruleIDs) // a list of ints always encodes
	method, _ := json.Marshal(r.Method)
	path := r.URL.Path
	if len(path) > 200 {
		path = path[:200]
	}
	entry := &audit.Entry{
		Tree: audit.SystemTree, Actor: audit.Actor{Type: audit.ActorSystem, ID: "guard"},
		Action: action, ObjectType: "request", ObjectID: path,
		Fields:    []audit.Field{{Name: "method", Value: method}, {Name: "rules", Value: rules}},
		RequestID: api.RequestID(ctx), Time: e.now(),
	}
	if addr.IsValid() {
		entry.AddressHash = e.audit.Keys.Hasher.HashPersonal(audit.SystemTree, []byte(addr.String()))
	}
	// The refusal is answered whatever happens here, and a client that
	// hangs up must not cancel the record of its attack.
	if err := e.audit.Append(context.WithoutCancel(ctx), entry); err != nil {
		e.log.ErrorContext(ctx, "guard: audit security event", "request_id", entry.RequestID, "action", action, "err", err)
	}
}

// clientAddr is the client's address as the guard resolved it (behind
// trusted proxies, from their headers), else the peer's.
func clientAddr(ctx context.Context, r *http.Request) netip.Addr {
	if a, ok := guard.ClientAddrFrom(ctx); ok {
		return a
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// addressBudget is a token bucket per address. It holds at most
// maxBudgets addresses; when full it starts over, which only gives every
// address a fresh burst.
type addressBudget struct {
	mu      sync.Mutex
	buckets map[netip.Addr]*rate.Limiter
}

const maxBudgets = 4096

func (b *addressBudget) allow(addr netip.Addr, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets == nil || len(b.buckets) >= maxBudgets {
		b.buckets = make(map[netip.Addr]*rate.Limiter)
	}
	l, ok := b.buckets[addr]
	if !ok {
		l = rate.NewLimiter(rate.Every(auditEvery), auditBurst)
		b.buckets[addr] = l
	}
	return l.AllowN(now, 1)
}

// auditKeyUse appends an api_key.used entry to the key's organization's
// tree each time the key's last use is recorded: at most once a minute per
// key, so the log tells when and from where a key was used without an
// entry per request. Like the other security events, a failure to record
// it is logged and the request goes on.
func auditKeyUse(l *audit.Log, log *slog.Logger) func(ctx context.Context, k *auth.APIKey) {
	return func(ctx context.Context, k *auth.APIKey) {
		e := &audit.Entry{Tree: k.OrgID, Actor: audit.Actor{Type: audit.ActorAPIKey, ID: k.ID},
			Action: "api_key.used", ObjectType: "api_key", ObjectID: k.ID, RequestID: api.RequestID(ctx)}
		if k.LastUsedAt != nil {
			e.Time = *k.LastUsedAt
		}
		if addr, ok := guard.ClientAddrFrom(ctx); ok {
			e.AddressHash = l.Keys.Hasher.HashPersonal(e.Tree, []byte(addr.String()))
		}
		if err := l.Append(context.WithoutCancel(ctx), e); err != nil {
			log.ErrorContext(ctx, "server: audit key use", "request_id", e.RequestID, "key", k.ID, "err", err)
		}
	}
}
