package server

import (
	"log/slog"
	"net/http"
	"time"

	"bursar/internal/auth"
)

// newTokenVerifier is the verifier of machine clients' OAuth bearer tokens.
func newTokenVerifier(cfg Config, store auth.OAuthStore, log *slog.Logger, now func() time.Time) *auth.TokenVerifier {
	v := &auth.TokenVerifier{Store: store, Now: now, Logger: log}
	if cfg.OAuthPrivateNetworks {
		v.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return v
}
