package main

import (
	"context"

	"github.com/hvagent/hvagent/vf/vftest"
)

// vfSim drives the agent's VF subsystem through vftest.Guest: a
// simulated devd and a simulated kernel behind a fake sysctl command on
// the agent's PATH, in observe mode, so nothing on this machine is
// reconfigured. The steady load is host servicing of hn0's VF: removal
// and return, as devd reports them.
type vfSim struct{ g *vftest.Guest }

func newVFSim(ctx context.Context, dir string) (*vfSim, error) {
	g, err := vftest.NewGuest(ctx, dir)
	if err != nil {
		return nil, err
	}
	return &vfSim{g: g}, nil
}

func (v *vfSim) subsystem() string { return "vf" }

// agentArgs point the agent at the simulated FreeBSD guest, whatever
// system hvload runs on (--vf.protocol defaults to the running system's).
func (v *vfSim) agentArgs() []string {
	return append([]string{"--vf.protocol", "freebsd"}, v.g.AgentArgs()...)
}

func (v *vfSim) agentEnv() []string { return v.g.Env() }

func (v *vfSim) waitReady(ctx context.Context) error { return v.g.Devd.WaitClients(ctx, 1) }

func (v *vfSim) close() error { return v.g.Close() }

// step plays half a servicing cycle: even steps remove hn0's VF, odd
// steps bring it back and switch the datapath to it. Each devd line is
// one request.
func (v *vfSim) step(_ context.Context, n int) (requests int, problems []string) {
	var err error
	if n%2 == 0 {
		requests, err = v.g.RemoveVF()
	} else {
		requests, err = v.g.ReturnVF()
	}
	if err != nil {
		problems = append(problems, err.Error())
	}
	return requests, problems
}

func (v *vfSim) rate(o options) float64 { return o.vfRate }
