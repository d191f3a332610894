package main

import (
	"crypto/tls"
	"flag"
	"path/filepath"
	"strings"

	"bursar/internal/server"
)

// tlsFlags are the serve settings of HTTPS: certificate files, or ACME for
// public host names, and the plain-HTTP listener that redirects to HTTPS.
type tlsFlags struct {
	certFile, keyFile string
	acmeHosts         string
	acmeEmail         string
	acmeCache         string
	acmeDirectory     string
	redirectAddr      string
}

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.certFile, "tls-cert", "", "PEM certificate chain to serve HTTPS with (with --tls-key); re-read when it changes")
	fs.StringVar(&f.keyFile, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.acmeHosts, "acme-host", "", "comma-separated public host names to get certificates for from an ACME CA (Let's Encrypt), instead of --tls-cert")
	fs.StringVar(&f.acmeEmail, "acme-email", "", "contact address for the ACME account (expiry and policy notices)")
	fs.StringVar(&f.acmeCache, "acme-cache", "", "directory for the ACME account key and certificates; empty means acme/ in --data-dir")
	fs.StringVar(&f.acmeDirectory, "acme-directory", "", "ACME directory URL; empty means Let's Encrypt production")
	fs.StringVar(&f.redirectAddr, "http-redirect-addr", "", "with TLS on, also listen for plain HTTP here (such as :80) and redirect to HTTPS; ACME HTTP-01 challenges are answered there")
}

// config checks the settings and returns the server's TLS configuration.
// A certificate that does not load is a bad setting, reported before the
// server starts.
func (f *tlsFlags) config(dataDir string) (server.TLSConfig, error) {
	var c server.TLSConfig
	switch {
	case f.certFile != "" && f.keyFile == "":
		return c, usagef("invalid --tls-key (%s): required with --tls-cert", envName("tls-key"))
	case f.certFile == "" && f.keyFile != "":
		return c, usagef("invalid --tls-cert (%s): required with --tls-key", envName("tls-cert"))
	case f.certFile != "" && f.acmeHosts != "":
		return c, usagef("invalid --acme-host (%s): give either --tls-cert and --tls-key or --acme-host, not both", envName("acme-host"))
	case f.acmeHosts == "" && (f.acmeEmail != "" || f.acmeCache != "" || f.acmeDirectory != ""):
		return c, usagef("invalid --acme-email, --acme-cache or --acme-directory: they need --acme-host (%s)", envName("acme-host"))
	}
	if f.certFile != "" {
		if _, err := tls.LoadX509KeyPair(f.certFile, f.keyFile); err != nil {
			return c, usagef("invalid --tls-cert (%s) or --tls-key (%s): %v", envName("tls-cert"), envName("tls-key"), err)
		}
		c.CertFile, c.KeyFile = f.certFile, f.keyFile
	}
	if f.acmeHosts != "" {
		for _, h := range strings.Split(f.acmeHosts, ",") {
			h = strings.TrimSpace(h)
			if h == "" || !strings.Contains(h, ".") || strings.ContainsAny(h, "/:*") {
				return c, usagef("invalid --acme-host (%s) %q: must be public DNS names, comma-separated", envName("acme-host"), h)
			}
			c.ACMEHosts = append(c.ACMEHosts, h)
		}
		c.ACMEEmail, c.ACMEDirectoryURL = f.acmeEmail, f.acmeDirectory
		c.ACMECacheDir = f.acmeCache
		if c.ACMECacheDir == "" {
			if dataDir == "" {
				return c, usagef("invalid --acme-cache (%s): must be set when there is no --data-dir", envName("acme-cache"))
			}
			c.ACMECacheDir = filepath.Join(dataDir, "acme")
		}
		if f.acmeDirectory != "" && !strings.HasPrefix(f.acmeDirectory, "https://") {
			return c, usagef("invalid --acme-directory (%s) %q: must be an https:// URL", envName("acme-directory"), f.acmeDirectory)
		}
	}
	if f.redirectAddr != "" {
		if !c.Enabled() {
			return c, usagef("invalid --http-redirect-addr (%s): needs TLS (--tls-cert or --acme-host)", envName("http-redirect-addr"))
		}
		if err := validateAddr(f.redirectAddr); err != nil {
			return c, usagef("invalid --http-redirect-addr (%s) %q: must be host:port, such as :80", envName("http-redirect-addr"), f.redirectAddr)
		}
		c.RedirectAddr = f.redirectAddr
	}
	return c, nil
}
