package kvp

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hvagent/hvagent/agent"
)

// fqdnTimeout bounds the FQDN lookup at start and on SIGHUP.
const fqdnTimeout = 5 * time.Second

// Config is what the KVP subsystem needs. Device, Version and PoolDir
// are required; the rest have working defaults.
type Config struct {
	Device  string // /dev/hv_kvp_dev, /dev/vmbus/hv_kvp or a Unix socket (hvagent(8), --kvp.device)
	Version string // sent in REGISTER and served in the auto pool (FreeBSD)
	// Protocol is the kernel's device protocol (--kvp.protocol); the
	// zero value is FreeBSD.
	Protocol Protocol
	// OSRoot is where a Linux auto pool reads etc/os-release; "" is "/".
	OSRoot string
	// PoolDir holds the pool files, opened once the device exists.
	PoolDir string
	// MaxRecords caps the records of each pool (--kvp.max-records); 0
	// means DefaultMaxRecords.
	MaxRecords int
	IP         IPConfig   // GET_IP_INFO, SET_IP_INFO; nil: both answer HV_E_FAIL
	Addrs      AddrSource // the auto pool's addresses; nil: InterfaceAddrs
	Metrics    *Metrics   // nil: no metrics
	// LookupFQDN resolves the FQDN for the auto pool; nil uses LookupFQDN.
	LookupFQDN func(context.Context) string
	// OpenTransport connects and registers; nil uses OpenProtocol(ctx,
	// Protocol, Device, Version). Tests pass OpenVia with a model of the
	// FreeBSD driver.
	OpenTransport func(context.Context) (Transport, error)
}

// Subsystem is the KVP daemon: it registers with the kernel and answers
// its requests until the context ends.
type Subsystem struct {
	cfg Config

	svc   atomic.Pointer[Service] // built by Run once the device exists (start.go)
	store atomic.Pointer[Store]
}

// New returns the subsystem. Nothing is opened yet: Run opens the pools
// and gathers the facts once the device exists.
func New(cfg Config) *Subsystem { return &Subsystem{cfg: cfg} }

// Name implements agent.Subsystem.
func (s *Subsystem) Name() string { return "kvp" }

// Run implements agent.Subsystem. Requests are answered on this goroutine,
// never through the loop, so nothing another subsystem does on the loop
// can push a reply past the kernel's deadline (5 s on FreeBSD, 30 s on
// Linux, where a reply later than LinuxReplyWithin is not written and
// the device is reopened instead: ErrReplyTooLate).
//
// Every request read is answered before the next read, even one that
// cannot be used (HV_E_FAIL): on FreeBSD a read the driver delivered and
// the daemon did not answer wedges the device (hv_kvp.c keeps
// daemon_busy set and the next read sleeps forever). When no reply can be
// written, Run returns and the device is closed, which clears the state.
func (s *Subsystem) Run(ctx context.Context, env *agent.Env) error {
	svc, t, err := s.start(ctx, env)
	if err != nil || t == nil {
		return err // t is nil without an error when ctx ended first
	}
	defer t.Close()
	if kv, ok := t.(interface{ KernelVersion() string }); ok {
		env.Log.Info("registered with the kernel", "device", s.cfg.Device, "protocol", s.cfg.Protocol.String(), "kernel_version", kv.KernelVersion())
	} else {
		env.Log.Info("registered with the kernel", "device", s.cfg.Device, "protocol", s.cfg.Protocol.String())
	}
	env.Ready()
	// One request and one reply buffer for the life of the connection:
	// a request is read, answered and written on this goroutine, and the
	// read path (GET, ENUMERATE) allocates nothing (Service.HandleInto).
	buf := make([]byte, s.cfg.Protocol.ReadBufSize())
	reply := make([]byte, s.cfg.Protocol.MsgSize())
	for {
		n, err := t.Read(ctx, buf)
		switch {
		case err == nil, errors.Is(err, ErrWrongSize):
			// A message is owed a reply, even if ctx just ended.
		case ctx.Err() != nil:
			return nil
		default:
			return err
		}
		err = t.Write(svc.HandleInto(reply, buf[:n]))
		switch {
		case errors.Is(err, ErrReplyRefused):
			env.Log.Warn("the driver refused a reply; the host already has its answer", "err", err)
		case err != nil:
			return fmt.Errorf("kvp: reply: %w", err)
		}
	}
}

// start connects to the kernel, builds the service and registers, in
// that order: the pools are opened and the facts gathered (DNS, up to
// fqdnTimeout) only once there is a kernel to serve (a Linux node may
// appear late: connect waits for it), and before registering, so that no
// request waits for them. With OpenTransport set (tests), the service is
// built first and OpenTransport connects and registers. A nil transport
// without an error means ctx ended while waiting for the Linux node.
func (s *Subsystem) start(ctx context.Context, env *agent.Env) (*Service, Transport, error) {
	if s.cfg.OpenTransport != nil {
		svc, err := s.service(ctx, env)
		if err != nil {
			return nil, nil, err
		}
		t, err := s.cfg.OpenTransport(ctx)
		return svc, t, err
	}
	waiting := func(path string, err error) {
		env.Log.Info("KVP device not there yet; waiting for the host to offer the service", "device", path, "err", err)
	}
	conn, err := connect(ctx, s.cfg.Protocol, s.cfg.Device, waiting)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	svc, err := s.service(ctx, env)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	t, err := register(ctx, s.cfg.Protocol, conn, s.cfg.Device, s.cfg.Version)
	return svc, t, err
}

// Refresh implements agent.Refresher: it re-reads uname and resolves the
// FQDN off the loop, then swaps the facts in.
func (s *Subsystem) Refresh(env *agent.Env) {
	svc := s.svc.Load()
	if svc == nil {
		return // not started yet: the facts are gathered at start
	}
	var f Facts
	env.Loop.Go(func() {
		f = s.gatherFacts(context.Background())
	}, func() {
		svc.SetFacts(f)
		env.Log.Info("refreshed guest facts", "fqdn", f.FQDN, "os", f.OSRelease)
	})
}

// gatherFacts collects the auto-pool facts; it may block on DNS.
func (s *Subsystem) gatherFacts(ctx context.Context) Facts {
	if s.cfg.Protocol == Linux {
		return GatherLinuxFacts(ctx, s.cfg.OSRoot, s.cfg.LookupFQDN)
	}
	return GatherFacts(ctx, s.cfg.Version, s.cfg.LookupFQDN)
}

// GatherFacts reads uname and resolves the FQDN (bounded by fqdnTimeout).
func GatherFacts(ctx context.Context, version string, lookup func(context.Context) string) Facts {
	f := Facts{Version: version}
	f.OSName, f.OSRelease, f.Machine, _ = Uname()
	if lookup == nil {
		lookup = func(ctx context.Context) string { return LookupFQDN(ctx, fqdnTimeout) }
	}
	f.FQDN = lookup(ctx)
	return f
}
