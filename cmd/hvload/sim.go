package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// A simulator is one subsystem's simulated kernel device and host. The
// measurement runs the agent against every simulator in simulators and
// disables the other subsystems; adding the VSS or VF simulator is one
// more type implementing this and one more line there.
type simulator interface {
	// subsystem is the agent's name for the subsystem: kvp, vss, vf.
	subsystem() string
	// agentArgs point the agent at the simulated device.
	agentArgs() []string
	// agentEnv is added to the agent's environment (fake commands).
	agentEnv() []string
	// rate is how many requests per second to send, given the -rate
	// (KVP) and -vf-rate options.
	rate(o options) float64
	// waitReady returns once the agent has connected to the device.
	waitReady(ctx context.Context) error
	// step does one unit of the host's steady work and returns how many
	// requests it sent and what went wrong with any of them.
	step(ctx context.Context, n int) (requests int, problems []string)
	close() error
}

// simulators starts one simulator per subsystem, with its sockets and
// files in dir, its kernel speaking proto. A new subsystem's simulator is
// one more entry here. The VF simulator is a FreeBSD guest (devd, hn(4)),
// so the Linux protocol runs without one and the agent's vf subsystem is
// disabled: hv_netvsc, which the agent follows on Linux, is not simulated.
func simulators(ctx context.Context, dir string, proto kvp.Protocol) ([]simulator, error) {
	var sims []simulator
	fail := func(err error) ([]simulator, error) {
		for _, s := range sims {
			s.close()
		}
		return nil, err
	}
	k, err := newKVPSim(dir, proto)
	if err != nil {
		return fail(err)
	}
	sims = append(sims, k)
	vs, err := newVSSSim(dir, proto)
	if err != nil {
		return fail(err)
	}
	if vs != nil {
		sims = append(sims, vs)
	}
	if proto != kvp.FreeBSD {
		return sims, nil
	}
	v, err := newVFSim(ctx, dir)
	if err != nil {
		return fail(err)
	}
	return append(sims, v), nil
}

// kvpSim drives the agent's KVP subsystem through kvptest.
type kvpSim struct {
	dir    string
	kernel *kvptest.Kernel
	host   *kvptest.Host
}

func newKVPSim(dir string, proto kvp.Protocol) (*kvpSim, error) {
	k, err := kvptest.NewKernel(filepath.Join(dir, "kvp.sock"), kvptest.KernelOptions{Protocol: proto})
	if err != nil {
		return nil, err
	}
	return &kvpSim{dir: dir, kernel: k, host: kvptest.NewHost(k)}, nil
}

func (s *kvpSim) subsystem() string { return "kvp" }

func (s *kvpSim) agentArgs() []string {
	return []string{"--kvp.device", s.kernel.Path(), "--kvp.pool-dir", filepath.Join(s.dir, "pool")}
}

func (s *kvpSim) agentEnv() []string { return nil }

func (s *kvpSim) rate(o options) float64 { return o.rate }

func (s *kvpSim) waitReady(ctx context.Context) error { return s.kernel.WaitRegistered(ctx) }

func (s *kvpSim) close() error { return s.kernel.Close() }

// guestKeys bounds the guest pool: SETs cycle over this many keys, so the
// pool reaches a steady size and any growth the run shows is the agent's.
const guestKeys = 64

// step sends the n-th request group of a mix like a Hyper-V host's: the
// periodic walk of the auto pool (11 requests), a walk of the guest pool,
// GETs, and admin SETs that are made durable (journal and fsync).
func (s *kvpSim) step(ctx context.Context, n int) (requests int, problems []string) {
	check := func(what string, st kvp.Status, err error, ok kvp.Status) {
		requests++
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", what, err))
		case st != ok:
			problems = append(problems, fmt.Sprintf("%s: status %v, want %v", what, st, ok))
		}
	}
	key := fmt.Sprintf("load-%d", n%guestKeys)
	switch n % 4 {
	case 0:
		items, st, err := s.host.Enumerate(ctx, kvp.PoolAuto)
		requests += len(items)
		check("enumerate auto", st, err, kvp.StatusCont)
	case 1:
		st, err := s.host.Set(ctx, kvp.PoolExternal, key, fmt.Sprintf("value %d", n))
		check("set external "+key, st, err, kvp.StatusOK)
	case 2:
		key = fmt.Sprintf("load-%d", (n-1)%guestKeys)
		_, st, err := s.host.Get(ctx, kvp.PoolExternal, key)
		check("get external "+key, st, err, kvp.StatusOK)
	default:
		items, st, err := s.host.Enumerate(ctx, kvp.PoolExternal)
		requests += len(items)
		check("enumerate external", st, err, kvp.StatusCont)
	}
	return requests, problems
}
