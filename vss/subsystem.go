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
	Device  string // /dev/hv_fsvss_dev or a Unix socket (SPEC §6)
	Service *Service
	// OpenTransport connects (which registers); nil uses Open(ctx,
	// Device). Tests pass OpenVia with a model of the FreeBSD driver.
	OpenTransport func(context.Context) (Transport, error)
}

// Name implements agent.Subsystem.
func (s *Subsystem) Name() string { return "vss" }

// Run implements agent.Subsystem. Requests are answered on this goroutine,
// never through the loop, so nothing else can push a reply past the
// kernel's 15-second deadline.
func (s *Subsystem) Run(ctx context.Context, env *agent.Env) error {
	open := s.OpenTransport
	if open == nil {
		open = func(ctx context.Context) (Transport, error) { return Open(ctx, s.Device) }
	}
	t, err := open(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	defer func() {
		why := "device closed"
		if ctx.Err() != nil {
			why = "agent stopping"
		}
		s.Service.Shutdown(why)
	}()
	env.Log.Info("registered with the kernel", "device", s.Device)
	env.Ready()
	buf := make([]byte, MsgSize+1)
	for {
		n, err := t.Read(ctx, buf)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrWrongSize):
			// Through the service's logger: held while frozen.
			s.Service.log.Warn("dropped a datagram of the wrong size", "bytes", n)
			continue
		case err != nil:
			return err
		}
		req, err := Decode(buf[:n])
		if err != nil {
			continue // cannot happen: the size was checked
		}
		reply, ok := s.Service.Handle(req)
		if !ok {
			continue
		}
		if err := t.Write(reply.Encode()); err != nil {
			return fmt.Errorf("vss: reply: %w", err)
		}
	}
}
