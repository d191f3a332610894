package guard

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"bursar/internal/errs"
	"bursar/internal/ident"
)

// Action is what an address rule does.
type Action string

// The actions of address rules.
const (
	Allow Action = "allow"
	Deny  Action = "deny"
)

// IPRule admits or refuses a network. The rules are global, not per
// organization: they protect the whole server. A rule past its ExpiresAt
// is ignored (and may be removed at leisure).
type IPRule struct {
	ID        string     `json:"id"`
	Action    Action     `json:"action"`
	CIDR      string     `json:"cidr"` // canonical, masked: "203.0.113.0/24"
	Note      string     `json:"note"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// RuleStore keeps the address rules.
type RuleStore interface {
	InsertIPRule(ctx context.Context, r *IPRule) error
	// ListIPRules returns every rule, expired ones included, oldest first.
	ListIPRules(ctx context.Context) ([]*IPRule, error)
	// DeleteIPRule removes a rule and returns it; errs.NotFound if there
	// is none with the id.
	DeleteIPRule(ctx context.Context, id string) (*IPRule, error)
}

// RuleChange is a change of the address rules, for the audit log: what was
// done to which rule, by whom, when.
type RuleChange struct {
	Op   string // "add" or "remove"
	Rule IPRule
	By   string
	At   time.Time
}

// DefaultRuleTTL is how long a replica uses the rules it read before it
// reads them again: a change made anywhere is in force everywhere within
// it.
const DefaultRuleTTL = 5 * time.Second

const maxNoteLen = 500

// IPRules manages the address rules and decides, from a short-lived copy
// of them, whether an address may send requests. Deny wins over allow; a
// non-empty allow list admits only its networks; the health checks always
// pass, so that an orchestrator never kills a replica over a rule.
type IPRules struct {
	Store RuleStore
	Now   func() time.Time
	// TTL is how long the copy of the rules is used; 0 means
	// DefaultRuleTTL.
	TTL    time.Duration
	Logger *slog.Logger
	// OnChange, if set, is told of every change after it is stored (the
	// audit log's hook); every change is also logged.
	OnChange func(ctx context.Context, c RuleChange)

	snap    atomic.Pointer[ruleSnapshot]
	loading atomic.Bool
	first   sync.Mutex // serializes the very first load
}

// ruleSnapshot is the rules as read at one time.
type ruleSnapshot struct {
	rules  []compiledRule
	loaded time.Time
}

type compiledRule struct {
	prefix  netip.Prefix
	action  Action
	expires time.Time // zero: never
}

func (s *IPRules) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *IPRules) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Add stores a new rule made by by (who: "api_key:key_...", "cli:alice").
// Bad input is an errs.Invalid error naming the field.
func (s *IPRules) Add(ctx context.Context, action Action, cidr, note, by string, expiresAt *time.Time) (*IPRule, error) {
	now := s.now().UTC()
	var f errs.Fields
	if action != Allow && action != Deny {
		f.Add("action", "must be %q or %q", Allow, Deny)
	}
	p, err := ParsePrefix(cidr)
	if err != nil {
		f.Add("cidr", "%v", err)
	}
	if !utf8.ValidString(note) || len(note) > maxNoteLen {
		f.Add("note", "must be valid UTF-8 of at most %d bytes", maxNoteLen)
	}
	if expiresAt != nil && !expiresAt.After(now) {
		f.Add("expires_at", "must be in the future")
	}
	if by == "" {
		f.Add("created_by", "must name who makes the rule")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	r := &IPRule{ID: ident.New("ipr", now), Action: action, CIDR: p.String(), Note: note, CreatedBy: by, CreatedAt: now}
	if expiresAt != nil {
		t := expiresAt.UTC()
		r.ExpiresAt = &t
	}
	if err := s.Store.InsertIPRule(ctx, r); err != nil {
		return nil, err
	}
	s.changed(ctx, RuleChange{Op: "add", Rule: *r, By: by, At: now})
	return r, nil
}

// Remove deletes a rule; by names who does it.
func (s *IPRules) Remove(ctx context.Context, id, by string) (*IPRule, error) {
	r, err := s.Store.DeleteIPRule(ctx, id)
	if err != nil {
		return nil, err
	}
	s.changed(ctx, RuleChange{Op: "remove", Rule: *r, By: by, At: s.now().UTC()})
	return r, nil
}

// List returns every rule, expired ones included, oldest first.
func (s *IPRules) List(ctx context.Context) ([]*IPRule, error) {
	return s.Store.ListIPRules(ctx)
}

// changed logs a change, hands it to the hook, and drops this replica's
// copy of the rules so that the change is in force here at once.
func (s *IPRules) changed(ctx context.Context, c RuleChange) {
	s.log().InfoContext(ctx, "guard: address rule changed", "op", c.Op, "id", c.Rule.ID,
		"action", string(c.Rule.Action), "cidr", c.Rule.CIDR, "by", c.By)
	if s.OnChange != nil {
		s.OnChange(ctx, c)
	}
	s.snap.Store(nil)
}

// Invalidate drops this replica's copy of the rules: the next request reads
// them again. A caller that stores a change in a transaction of its own
// calls it after the commit.
func (s *IPRules) Invalidate() { s.snap.Store(nil) }

// Refresh reads the rules now. The server calls it at start, so that the
// first requests are judged by the stored rules.
func (s *IPRules) Refresh(ctx context.Context) error {
	list, err := s.Store.ListIPRules(ctx)
	if err != nil {
		return err
	}
	snap := &ruleSnapshot{loaded: s.now()}
	for _, r := range list {
		p, err := ParsePrefix(r.CIDR)
		if err != nil {
			// The store only holds rules that Add checked; one that does
			// not parse was written around it and is ignored, loudly.
			s.log().ErrorContext(ctx, "guard: stored address rule does not parse", "id", r.ID, "cidr", r.CIDR)
			continue
		}
		c := compiledRule{prefix: p, action: r.Action}
		if r.ExpiresAt != nil {
			c.expires = *r.ExpiresAt
		}
		snap.rules = append(snap.rules, c)
	}
	s.snap.Store(snap)
	return nil
}

// snapshot returns the rules to judge by, reading them again when they are
// older than the TTL. One request reloads while the others go on with the
// copy they have; a failed read keeps the old copy (a database outage does
// not lift a block) and is retried after another TTL. With no copy at all
// and no database, no rule is known and every address passes.
func (s *IPRules) snapshot(ctx context.Context) *ruleSnapshot {
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultRuleTTL
	}
	snap := s.snap.Load()
	if snap == nil {
		s.first.Lock()
		defer s.first.Unlock()
		if snap = s.snap.Load(); snap != nil {
			return snap
		}
		if err := s.Refresh(ctx); err != nil {
			s.log().ErrorContext(ctx, "guard: read address rules", "err", err)
			snap = &ruleSnapshot{loaded: s.now()}
			s.snap.Store(snap)
			return snap
		}
		return s.snap.Load()
	}
	if s.now().Sub(snap.loaded) < ttl || !s.loading.CompareAndSwap(false, true) {
		return snap
	}
	defer s.loading.Store(false)
	if err := s.Refresh(ctx); err != nil {
		s.log().ErrorContext(ctx, "guard: read address rules; keeping the last ones", "err", err)
		stale := *snap
		stale.loaded = s.now()
		s.snap.Store(&stale)
		return &stale
	}
	return s.snap.Load()
}

// Admits reports whether requests from a may pass.
func (s *IPRules) Admits(ctx context.Context, a netip.Addr) bool {
	return s.snapshot(ctx).admits(a.Unmap(), s.now())
}

func (snap *ruleSnapshot) admits(a netip.Addr, now time.Time) bool {
	allowList, allowed := false, false
	for _, r := range snap.rules {
		if !r.expires.IsZero() && !now.Before(r.expires) {
			continue
		}
		in := a.IsValid() && r.prefix.Contains(a)
		switch r.action {
		case Deny:
			if in {
				return false
			}
		case Allow:
			allowList = true
			allowed = allowed || in
		}
	}
	return !allowList || allowed
}

// Middleware refuses, with fail, a request whose client address the rules
// do not admit, with a 403 problem of code address_denied. It must run
// after WithClientAddr. The health checks always pass.
func (s *IPRules) Middleware(fail func(http.ResponseWriter, *http.Request, error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		a, _ := ClientAddrFrom(r.Context())
		if !s.Admits(r.Context(), a) {
			// The answer names no rule: a denied client learns nothing
			// about the lists.
			fail(w, r, errs.E(errs.Forbidden, "address_denied", "requests from this address are not allowed"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
