package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"bursar/internal/audit"
	"bursar/internal/server"
	"bursar/internal/store/sqlite"
)

// runWithCheckpoints serves until the returned stop is called, with
// checkpoints every interval, and returns the log that shares its keys.
func runWithCheckpoints(t *testing.T, interval time.Duration) (l *audit.Log, stop func()) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := audit.EphemeralKeys()
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Addr: "127.0.0.1:0", AuditKeys: keys, CheckpointInterval: interval}, st,
		slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- srv.Run(ctx, func(net.Addr) { close(ready) }) }()
	<-ready
	return &audit.Log{Store: st, Keys: keys, Now: time.Now}, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func appendOne(t *testing.T, l *audit.Log) {
	t.Helper()
	if err := l.Append(context.Background(), &audit.Entry{Tree: "org_t", Action: "customer.created", ObjectType: "customer", ObjectID: "cus_1"}); err != nil {
		t.Fatal(err)
	}
}

func TestServerSignsCheckpointsWhileServing(t *testing.T) {
	l, stop := runWithCheckpoints(t, 20*time.Millisecond)
	defer stop()
	appendOne(t, l)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := l.Store.LatestAuditCheckpoint(context.Background(), "org_t")
		if err == nil && cp.Size == 1 {
			if _, err := audit.OpenCheckpoint(cp.Note, l.Keys.Verifier); err != nil {
				t.Fatalf("the server's checkpoint is not signed with its keys: %v", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size 1 within 10s: %v, %v", cp, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServerSignsACheckpointAtShutdown(t *testing.T) {
	l, stop := runWithCheckpoints(t, time.Hour)
	appendOne(t, l)
	appendOne(t, l)
	stop()
	cp, err := l.Store.LatestAuditCheckpoint(context.Background(), "org_t")
	if err != nil || cp.Size != 2 {
		t.Fatalf("after shutdown the latest checkpoint is %v, %v; want one of size 2", cp, err)
	}
}
