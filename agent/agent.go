package agent

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/hvagent/hvagent/metrics"
)

// Config is everything Run needs.
type Config struct {
	Subsystems []Subsystem
	Metrics    *metrics.Metrics
	Server     metrics.ServerConfig
	Log        *slog.Logger
	Backoff    Backoff // zero: DefaultBackoff
	// Hangup delivers SIGHUP-style refresh requests; nil listens for
	// SIGHUP itself.
	Hangup <-chan os.Signal
}

// Run starts the loop, the metrics server and the subsystems, and returns
// once ctx ends and every subsystem has stopped (a subsystem thaws or
// unregisters before its Run returns).
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	loop := NewLoop(log.With("component", "loop"), 256)
	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { loop.Run(loopCtx); close(loopDone) }()
	defer func() { stopLoop(); <-loopDone }()

	hup := cfg.Hangup
	if hup == nil {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		defer signal.Stop(c)
		hup = c
	}
	var wg sync.WaitGroup
	wg.Go(func() { refreshOnHangup(ctx, loop, log, hup, cfg.Subsystems) })
	wg.Go(func() { serveMetrics(ctx, cfg.Metrics, cfg.Server, log.With("component", "web"), cfg.Backoff) })

	names := make([]string, len(cfg.Subsystems))
	for i, s := range cfg.Subsystems {
		names[i] = s.Name()
	}
	log.Info("hvagent starting", "subsystems", names)
	sup := &Supervisor{Loop: loop, Log: log, Metrics: cfg.Metrics, Backoff: cfg.Backoff}
	sup.Run(ctx, cfg.Subsystems)
	wg.Wait()
	log.Info("hvagent stopped")
	return nil
}

// refreshOnHangup turns each hangup into a Refresh of every subsystem that
// has cached facts, run on the loop.
func refreshOnHangup(ctx context.Context, loop *Loop, log *slog.Logger, hup <-chan os.Signal, subs []Subsystem) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: refreshing cached facts")
			loop.Post(func() {
				for _, s := range subs {
					if r, ok := s.(Refresher); ok {
						r.Refresh(&Env{Loop: loop, Log: log.With("subsystem", s.Name())})
					}
				}
			})
		}
	}
}
