package main

import (
	"flag"
	"time"

	"bursar/internal/guard"
	"bursar/internal/server"
)

// guardFlags are the serve settings of the guard: trusted proxies, rate
// limits, body limits, timeouts and the admin organization. (The WAF's
// are beside them in serve.go.)
type guardFlags struct {
	trustedProxies string
	rateLimits     bool
	limits         []limitFlag
	eventsBody     int64
	signInBody     int64
	readHeader     time.Duration
	read           time.Duration
	write          time.Duration
	idle           time.Duration
	adminOrg       string
}

// limitFlag is one rate-limit flag and the budget it sets.
type limitFlag struct {
	name  string
	value string
	set   func(l *guard.Limits, v guard.Limit)
}

func (g *guardFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For and Forwarded headers are believed; empty trusts none")
	fs.BoolVar(&g.rateLimits, "rate-limits", true, "enforce rate limits (false only for benchmarks and tests)")
	d := guard.DefaultLimits()
	g.limits = []limitFlag{
		{"rate-limit-api-address", d.API.Address.String(), func(l *guard.Limits, v guard.Limit) { l.API.Address = v }},
		{"rate-limit-api-key", d.API.Key.String(), func(l *guard.Limits, v guard.Limit) { l.API.Key = v }},
		{"rate-limit-api-org", d.API.Org.String(), func(l *guard.Limits, v guard.Limit) { l.API.Org = v }},
		{"rate-limit-events-address", d.Events.Address.String(), func(l *guard.Limits, v guard.Limit) { l.Events.Address = v }},
		{"rate-limit-events-key", d.Events.Key.String(), func(l *guard.Limits, v guard.Limit) { l.Events.Key = v }},
		{"rate-limit-events-org", d.Events.Org.String(), func(l *guard.Limits, v guard.Limit) { l.Events.Org = v }},
		{"rate-limit-signin-address", d.SignIn.Address.String(), func(l *guard.Limits, v guard.Limit) { l.SignIn.Address = v }},
		{"rate-limit-signin-account", d.SignIn.Account.String(), func(l *guard.Limits, v guard.Limit) { l.SignIn.Account = v }},
	}
	for i := range g.limits {
		lf := &g.limits[i]
		fs.StringVar(&lf.value, lf.name, lf.value, "token bucket N/UNIT[:BURST] (UNIT s, m, h or a duration), or off")
	}
	fs.Int64Var(&g.eventsBody, "max-events-body-bytes", server.DefaultEventsBodyBytes, "largest request body of usage ingestion (/v1/events), in bytes")
	fs.Int64Var(&g.signInBody, "max-signin-body-bytes", server.DefaultSignInBodyBytes, "largest request body of sign-in routes, in bytes")
	fs.DurationVar(&g.readHeader, "read-header-timeout", 5*time.Second, "how long a client may take to send a request's headers")
	fs.DurationVar(&g.read, "read-timeout", 30*time.Second, "how long a client may take to send a whole request")
	fs.DurationVar(&g.write, "write-timeout", 60*time.Second, "how long the server may take to answer, from the end of the headers")
	fs.DurationVar(&g.idle, "idle-timeout", 120*time.Second, "how long a kept-alive connection may wait for its next request")
	fs.StringVar(&g.adminOrg, "admin-org", "", "the only organization whose API keys may manage address rules (/v1/ip-rules); empty allows every organization's key with the scope")
}

// config checks the flags and returns the guard's configuration; the
// default body limit is --max-body-bytes. Bad values are usage errors
// naming the flag and its environment twin.
func (g *guardFlags) config(defaultBody int64) (server.GuardConfig, error) {
	tp, err := guard.ParseTrustedProxies(g.trustedProxies)
	if err != nil {
		return server.GuardConfig{}, usagef("invalid --trusted-proxies (%s): %v", envName("trusted-proxies"), err)
	}
	limits := guard.DefaultLimits()
	for _, lf := range g.limits {
		v, err := guard.ParseLimit(lf.value)
		if err != nil {
			return server.GuardConfig{}, usagef("invalid --%s (%s): %v", lf.name, envName(lf.name), err)
		}
		lf.set(&limits, v)
	}
	for _, b := range []struct {
		name string
		v    int64
	}{{"max-events-body-bytes", g.eventsBody}, {"max-signin-body-bytes", g.signInBody}} {
		if b.v < 1024 {
			return server.GuardConfig{}, usagef("invalid --%s (%s) %d: must be at least 1024", b.name, envName(b.name), b.v)
		}
	}
	for _, t := range []struct {
		name string
		v    time.Duration
	}{{"read-header-timeout", g.readHeader}, {"read-timeout", g.read}, {"write-timeout", g.write}, {"idle-timeout", g.idle}} {
		if t.v <= 0 {
			return server.GuardConfig{}, usagef("invalid --%s (%s) %s: must be positive", t.name, envName(t.name), t.v)
		}
	}
	if g.readHeader > g.read {
		return server.GuardConfig{}, usagef("invalid --read-header-timeout (%s) %s: must not exceed --read-timeout %s", envName("read-header-timeout"), g.readHeader, g.read)
	}
	return server.GuardConfig{
		TrustedProxies:    tp,
		RateLimits:        &limits,
		DisableRateLimits: !g.rateLimits,
		BodyLimits:        server.BodyLimits{Default: defaultBody, Events: g.eventsBody, SignIn: g.signInBody},
		Timeouts:          server.Timeouts{ReadHeader: g.readHeader, Read: g.read, Write: g.write, Idle: g.idle},
		AdminOrg:          g.adminOrg,
	}, nil
}
