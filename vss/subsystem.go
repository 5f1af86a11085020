package vss

import (
	"context"
	"errors"
	"fmt"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/seqpacket"
)

// Subsystem is the VSS daemon: it opens the device (which registers it
// with the kernel) and answers requests until the context ends. Whatever
// ends Run — SIGTERM, a lost device — thaws anything frozen first.
type Subsystem struct {
	device string
	proto  Protocol
	open   func(context.Context) (Transport, error)
	svc    *Service
	// waiting is told when Linux's device node is missing (Run sets it
	// to a log line before each open).
	waiting func(path string, err error)
}

// New returns the subsystem and its Service, with nothing frozen and
// nothing opened yet.
func New(cfg Config) *Subsystem {
	s := &Subsystem{device: cfg.Device, proto: cfg.Protocol, open: cfg.OpenTransport, svc: NewService(cfg)}
	if s.open == nil {
		s.open = func(ctx context.Context) (Transport, error) { return openProtocol(ctx, s.device, s.proto, s.waiting) }
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
	s.waiting = func(path string, err error) {
		env.Log.Info("waiting for the device: the host has not offered the Backup integration service yet", "device", path, "err", err)
	}
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
	if err := s.proto.register(ctx, t); err != nil {
		return err
	}
	_, simulated := t.(*seqpacket.Conn)
	s.svc.servingKernelDevice(s.proto == ProtocolLinux && !simulated)
	env.Log.Info("registered with the kernel", "device", s.device, "protocol", s.proto.String())
	env.Ready()
	buf := make([]byte, s.proto.MsgSize()+1)
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
		req, err := s.proto.decode(buf[:n])
		if err != nil {
			continue // cannot happen: the size was checked
		}
		reply, ok := s.svc.Handle(req)
		if !ok {
			continue
		}
		// A reply the Linux kernel refuses (EINVAL: too late, or the THAW
		// it injects before hibernation) ends this registration: the
		// thaw has happened, and the deferred Shutdown and a reopen with
		// a new REGISTER1 follow (hv_utils_transport.c, as tools/hv does).
		if err := t.Write(s.proto.encode(req, reply.Status)); err != nil {
			return fmt.Errorf("vss: reply: %w", err)
		}
	}
}
