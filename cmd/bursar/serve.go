package main

import (
	"context"
	"time"

	"bursar/internal/server"
)

func runServe(ctx context.Context, io stdio, args []string) error {
	fs := newFlagSet(io, "serve", "serve [flags]")
	var sf storeFlags
	var lf logFlags
	sf.register(fs)
	lf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (host:port)")
	maxBody := fs.Int64("max-body-bytes", 1<<20, "largest request body accepted, in bytes")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may run after SIGTERM")
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
	if err := sf.validate(); err != nil {
		return err
	}
	log, err := lf.logger(io.stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	srv := server.New(server.Config{Addr: *addr, MaxBodyBytes: *maxBody, ShutdownTimeout: *shutdown}, st, log, time.Now)
	return srv.Run(ctx, nil)
}
