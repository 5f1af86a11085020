package agent

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hvagent/hvagent/metrics"
)

// ShutdownGrace bounds how long a stopping agent lets network changes
// already under way finish (a VF action, a SET_IP_INFO being applied):
// cutting 'ifconfig' or 'dhclient' off halfway through leaves the network
// worse than either state.
const ShutdownGrace = 30 * time.Second

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

// Run starts the loop, the subsystems and the metrics server, and returns
// once ctx ends and every subsystem has stopped (a subsystem thaws or
// unregisters before its Run returns). A subsystem's failure is the
// supervisor's to handle; nothing fails Run itself.
func Run(ctx context.Context, cfg Config) {
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

	names := make([]string, len(cfg.Subsystems))
	for i, s := range cfg.Subsystems {
		names[i] = s.Name()
	}
	log.Info("hvagent starting", "subsystems", names)
	// The metrics server is supervised like the subsystems, with the
	// same backoff, but has no series of its own (component).
	tasks := cfg.Subsystems
	if cfg.Server.ListenAddress != "" {
		tasks = append(slices.Clip(tasks), &metricsServer{m: cfg.Metrics, cfg: cfg.Server})
	} else {
		log.Info("metrics server disabled", "component", "web")
	}
	sup := &Supervisor{Loop: loop, Log: log, Metrics: cfg.Metrics, Backoff: cfg.Backoff}
	sup.Run(ctx, tasks)
	wg.Wait()
	log.Info("hvagent stopped")
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
