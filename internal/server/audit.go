package server

import (
	"context"
	"time"
)

// DefaultCheckpointInterval is how often the server signs a checkpoint of
// every audit tree that grew, when Config sets no interval.
const DefaultCheckpointInterval = time.Minute

// checkpointEvery signs checkpoints of the audit trees that grew, every
// interval until stop is called, and once more then, so that a clean
// shutdown leaves every entry under a signed checkpoint. Any replica may
// do it: a checkpoint of a size that is already signed is not repeated.
func (s *Server) checkpointEvery(interval time.Duration) (stop func()) {
	if interval <= 0 {
		interval = DefaultCheckpointInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	sign := func(ctx context.Context) {
		if n, err := s.audit.CheckpointAll(ctx); err != nil {
			s.log.Error("audit: checkpoint", "err", err)
		} else if n > 0 {
			s.log.Debug("audit: checkpoints signed", "trees", n)
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sign(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		final, cancelFinal := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelFinal()
		sign(final)
	}
}
