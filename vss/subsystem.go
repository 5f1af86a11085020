package vss

import (
	"context"
	"errors"
	"fmt"

	"github.com/hvagent/hvagent/agent"
)

// Subsystem is the VSS daemon: it opens the device (which registers it
// with the kernel) and answers requests until the context ends. Whatever
// ends Run — SIGTERM, a lost device — thaws anything frozen first.
type Subsystem struct {
	device string
	open   func(context.Context) (Transport, error)
	svc    *Service
}

// New returns the subsystem and its Service, with nothing frozen and
// nothing opened yet.
func New(cfg Config) *Subsystem {
	s := &Subsystem{device: cfg.Device, open: cfg.OpenTransport, svc: NewService(cfg)}
	if s.open == nil {
		s.open = func(ctx context.Context) (Transport, error) { return Open(ctx, s.device) }
	}
	return s
}

// Service returns the Service that answers the requests.
func (s *Subsystem) Service() *Service { return s.svc }

// Name implements agent.Subsystem.
func (s *Subsystem) Name() string { return "vss" }

// Run implements agent.Subsystem. Requests are answered on this goroutine,
// never through the loop, so nothing else can push a reply past the
// kernel's 15-second deadline.
func (s *Subsystem) Run(ctx context.Context, env *agent.Env) error {
	t, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	defer func() {
		why := "device closed"
		if ctx.Err() != nil {
			why = "agent stopping"
		}
		s.svc.Shutdown(why)
	}()
	env.Log.Info("registered with the kernel", "device", s.device)
	env.Ready()
	buf := make([]byte, MsgSize+1)
	for {
		n, err := t.Read(ctx, buf)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrWrongSize):
			// Through the service's logger: held while frozen.
			s.svc.log.Warn("dropped a datagram of the wrong size", "bytes", n)
			continue
		case err != nil:
			return err
		}
		req, err := Decode(buf[:n])
		if err != nil {
			continue // cannot happen: the size was checked
		}
		reply, ok := s.svc.Handle(req)
		if !ok {
			continue
		}
		if err := t.Write(reply.Encode()); err != nil {
			return fmt.Errorf("vss: reply: %w", err)
		}
	}
}
