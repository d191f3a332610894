package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// runHealthcheck asks a running server's /healthz and fails unless it answers
// 2xx. It exists because the container image is distroless: there is no shell
// or curl for a HEALTHCHECK, only this binary.
func runHealthcheck(ctx context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "healthcheck", "healthcheck [--url http://127.0.0.1:8080/healthz] [--timeout 3s] [--insecure]")
	target := fs.String("url", "http://127.0.0.1:8080/healthz", "health endpoint to ask (http or https)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	insecure := fs.Bool("insecure", false, "with an https:// URL, do not verify the certificate (a probe of the server's own loopback address, whose certificate names its public host)")
	if err := parse(io, fs, args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("invalid --url (%s) %q: must be an http:// or https:// URL with a host", envName("url"), *target)
	}
	if *timeout <= 0 {
		return usagef("invalid --timeout (%s) %s: must be positive", envName("timeout"), *timeout)
	}
	return checkHealth(ctx, u.String(), *timeout, *insecure)
}

// checkHealth returns nil only for a 2xx answer within timeout.
// With insecure, an HTTPS server's certificate is not verified: the probe
// asks whether the process is alive, not who it is.
func checkHealth(ctx context.Context, target string, timeout time.Duration, insecure bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// A redirect would mean the probe is not talking to Bursar's own
	// endpoint; report it rather than follow it somewhere else.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if insecure {
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}} // #nosec G402 -- opted into by --insecure for a liveness probe of the local process
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("healthcheck: %s answered %s", target, resp.Status)
	}
	return nil
}
