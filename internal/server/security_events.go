package server

import (
	"context"
	"log/slog"
	"net/http"

	"bursar/internal/api"
)

// logEvents records the guard's security events as warnings in the log.
// It is the default until the audit log takes them (Config.SecurityEvents):
// whoever routes them there implements guard.Events and passes it in.
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
