package main

import (
	"context"
	"time"

	"bursar/internal/audit"
	"bursar/internal/guard"
	"bursar/internal/privacy"
	"bursar/internal/server"
	"bursar/internal/vault"
)

func runServe(ctx context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "serve", "serve [flags]")
	var sf storeFlags
	var lf logFlags
	sf.register(fs)
	lf.register(fs)
	var gf guardFlags
	gf.register(fs)
	var tf tlsFlags
	tf.register(fs)
	oauthPrivate := fs.Bool("oauth-private-networks", false, "let organizations' OAuth identity providers (discovery, JWKS) be fetched from loopback and private addresses, for an identity provider inside your network; off, only public addresses are reached")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (host:port)")
	var idf identityFlags
	idf.register(fs)
	maxBody := fs.Int64("max-body-bytes", 1<<20, "largest request body accepted, in bytes")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may run after SIGTERM")
	wafMode := fs.String("waf", "on", "web application firewall (OWASP Core Rule Set): on (block), detect (log only) or off")
	wafParanoia := fs.Int("waf-paranoia", 1, "Core Rule Set paranoia level, 1 to 4: higher catches more and wrongly blocks more")
	purgeEvery := fs.Duration("purge-interval", 24*time.Hour, "how often to remove the documents past their retention period (as bursar purge does); every replica may, they take turns; 0 turns it off")
	wafCache := fs.Int("waf-verdict-cache", guard.DefaultVerdictCacheSize, "how many clean WAF verdicts on requests without a body to remember, so that a repeated request is not inspected again; 0 turns it off")
	if err := parse(io, fs, args); err != nil {
		return err
	}
	if err := validateAddr(*addr); err != nil {
		return err
	}
	if *maxBody < 1024 {
		return usagef("invalid --max-body-bytes (%s) %d: must be at least 1024", envName("max-body-bytes"), *maxBody)
	}
	if *shutdown <= 0 {
		return usagef("invalid --shutdown-timeout (%s) %s: must be positive", envName("shutdown-timeout"), *shutdown)
	}
	mode, err := guard.ParseWAFMode(*wafMode)
	if err != nil {
		return usagef("invalid --waf (%s) %q: %v", envName("waf"), *wafMode, err)
	}
	if *wafParanoia < 1 || *wafParanoia > 4 {
		return usagef("invalid --waf-paranoia (%s) %d: must be 1 to 4", envName("waf-paranoia"), *wafParanoia)
	}
	if *purgeEvery < 0 {
		return usagef("invalid --purge-interval (%s) %s: must be 0 (off) or positive", envName("purge-interval"), *purgeEvery)
	}
	if *wafCache < 0 {
		return usagef("invalid --waf-verdict-cache (%s) %d: must be 0 (off) or more", envName("waf-verdict-cache"), *wafCache)
	}
	if *wafCache == 0 {
		*wafCache = -1 // the server's "off"; its 0 means the default
	}
	if err := sf.validate(); err != nil {
		return err
	}
	guardCfg, err := gf.config(*maxBody)
	if err != nil {
		return err
	}
	tlsCfg, err := tf.config(sf.dataDir)
	if err != nil {
		return err
	}
	log, err := lf.logger(io.stderr)
	if err != nil {
		return err
	}
	idCfg, err := idf.config(log)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	// A misspelt admin organization would lock every key out of the
	// address rules without a word.
	if guardCfg.AdminOrg != "" {
		if _, err := st.GetOrganization(ctx, guardCfg.AdminOrg); err != nil {
			return usagef("invalid --admin-org (%s) %q: %v", envName("admin-org"), guardCfg.AdminOrg, err)
		}
	}
	keys, err := auditKeys(sf)
	if err != nil {
		return err
	}
	// Seal what is still in clear (rows written before sealing existed)
	// and what a replica sealed with an older key, beside the requests;
	// then retire the data keys that seal nothing any more.
	go func() {
		if err := reencrypt(ctx, st, 200, log); err != nil {
			if ctx.Err() == nil {
				log.Error("re-encryption of sealed values stopped", "err", err)
			}
			return
		}
		rs, err := st.RetireKeys(ctx, vault.DefaultCacheTTL)
		if err != nil && ctx.Err() == nil {
			log.Error("retirement of old data keys stopped", "err", err)
		}
		if rs.Retired > 0 {
			log.Info("retired data keys that seal nothing any more", "keys", rs.Retired)
		}
	}()
	if *purgeEvery > 0 {
		purger := &privacy.Service{Store: st, Now: time.Now}
		go purger.PurgeEvery(ctx, &audit.Log{Store: st, Keys: keys, Now: time.Now}, *purgeEvery, log)
	}
	if v := st.Vault(); v != nil {
		idCfg.Sealer = v
	}
	srv := server.New(server.Config{Addr: *addr, MaxBodyBytes: *maxBody, ShutdownTimeout: *shutdown, AuditKeys: keys, TLS: tlsCfg, OAuthPrivateNetworks: *oauthPrivate,
		WAF: mode, WAFParanoia: *wafParanoia, WAFVerdictCache: *wafCache, Guard: guardCfg, Identity: idCfg}, st, log, time.Now)
	return srv.Run(ctx, nil)
}
