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

// Subsystem is the KVP daemon: it registers with the kernel and answers
// its requests from the Service until the context ends.
type Subsystem struct {
	Device  string // /dev/hv_kvp_dev or a Unix socket (SPEC §6)
	Version string // sent in REGISTER
	// Service answers requests. When nil, Run opens the pools in PoolDir
	// and gathers the facts once the device exists, and builds the
	// Service with NewService.
	Service    *Service
	PoolDir    string
	NewService func(*Store, Facts) *Service
	// LookupFQDN resolves the FQDN for the auto pool; nil uses LookupFQDN.
	LookupFQDN func(context.Context) string

	built atomic.Pointer[Service] // built by Run (start.go)
	store atomic.Pointer[Store]
}

// Name implements agent.Subsystem.
func (s *Subsystem) Name() string { return "kvp" }

// Run implements agent.Subsystem. Requests are answered on this goroutine,
// never through the loop, so nothing another subsystem does on the loop
// can push a reply past the kernel's 5-second deadline.
func (s *Subsystem) Run(ctx context.Context, env *agent.Env) error {
	svc, err := s.service(ctx, env)
	if err != nil {
		return err
	}
	t, err := Open(ctx, s.Device, s.Version)
	if err != nil {
		return err
	}
	defer t.Close()
	env.Log.Info("registered with the kernel", "device", s.Device)
	env.Ready()
	buf := make([]byte, ReadBufSize)
	for {
		n, err := t.Read(ctx, buf)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrWrongSize):
			svc.Handle(buf[:n]) // counts and logs the drop
			continue
		case err != nil:
			return err
		}
		reply := svc.Handle(buf[:n])
		if reply == nil {
			continue
		}
		if err := t.Write(reply); err != nil {
			return fmt.Errorf("kvp: reply: %w", err)
		}
	}
}

// Refresh implements agent.Refresher: it re-reads uname and resolves the
// FQDN off the loop, then swaps the facts in.
func (s *Subsystem) Refresh(env *agent.Env) {
	svc := s.current()
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
	return GatherFacts(ctx, s.Version, s.LookupFQDN)
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
