package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hvagent/hvagent/metrics"
)

// serveMetrics runs the metrics server until ctx ends. If it fails (the
// port is taken, the address not configured yet) it is started again
// after a backoff, rather than staying down for the life of the process:
// the guest still needs KVP and VSS meanwhile, so nothing else waits.
func serveMetrics(ctx context.Context, m *metrics.Metrics, cfg metrics.ServerConfig, log *slog.Logger, b Backoff) {
	if b.Min <= 0 {
		b = DefaultBackoff
	}
	failures := 0
	lastErr := ""
	for {
		start := time.Now()
		err := m.Serve(ctx, cfg, log)
		if err == nil || ctx.Err() != nil {
			return
		}
		if time.Since(start) >= stableRun {
			failures, lastErr = 0, ""
		}
		failures++
		wait := b.wait(failures)
		level := slog.LevelError
		if msg := fmt.Sprint(err); msg == lastErr {
			level = slog.LevelDebug
		} else {
			lastErr = msg
		}
		log.Log(ctx, level, "metrics server failed; retrying (the agent goes on without it)", "err", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
