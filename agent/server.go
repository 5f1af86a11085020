package agent

import (
	"context"
	"errors"

	"github.com/hvagent/hvagent/metrics"
)

// metricsServer is the metrics endpoint as a supervised task. If it
// fails (the port is taken, the address not configured yet) the
// supervisor starts it again with the subsystems' backoff, rather than
// leaving it down for the life of the process; the guest still needs KVP
// and VSS meanwhile, so nothing else waits for it. An address that no
// retry can bind (malformed, port out of range) disables it.
type metricsServer struct {
	m   *metrics.Metrics
	cfg metrics.ServerConfig
}

func (*metricsServer) component() {}

// Name implements Subsystem; logs name it component=web.
func (*metricsServer) Name() string { return "web" }

// Run implements Subsystem: it listens, reports ready, and serves until
// ctx ends.
func (s *metricsServer) Run(ctx context.Context, env *Env) error {
	l, err := metrics.Listen(s.cfg)
	if errors.Is(err, metrics.ErrBadAddress) {
		return Final(err)
	}
	if err != nil {
		return err
	}
	env.Ready()
	return s.m.Serve(ctx, l, s.cfg, env.Log)
}
