package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hvagent/hvagent/vf/vftest"
)

// vfSim drives the agent's VF subsystem through vftest: a simulated devd
// on a seqpacket socket and a simulated kernel behind a fake sysctl
// command on the agent's PATH. The agent observes (--vf.mode=observe),
// so nothing on this machine is reconfigured. The steady load is host
// servicing of hn0's VF: removal and return, as devd reports them.
type vfSim struct {
	world *vftest.World
	devd  *vftest.Devd
}

func newVFSim(ctx context.Context, dir string) (*vfSim, error) {
	w, err := vftest.NewWorld(filepath.Join(dir, "vf"))
	if err != nil {
		return nil, err
	}
	fake, err := vftest.BuildFakes(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := w.Install(fake); err != nil {
		return nil, err
	}
	// hn(4)'s default transparent mode, with mce0 carrying hn0's traffic.
	err = w.Update(func(st *vftest.State) {
		st.AddHN("hn0", true, "10.0.0.4/24")
		st.AttachVF("hn0", "mce0")
		st.SetDatapath("hn0", true)
	})
	if err != nil {
		return nil, err
	}
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		return nil, err
	}
	return &vfSim{world: w, devd: d}, nil
}

func (v *vfSim) subsystem() string { return "vf" }

func (v *vfSim) agentArgs() []string {
	return []string{
		"--vf.devd-socket", v.devd.Path(),
		"--vf.mode", "observe",
		"--vf.base-rules", filepath.Join(v.world.Dir, "hyperv.conf"),
		"--vf.override-dir", filepath.Join(v.world.Dir, "libexec"),
		"--vf.sysctl-command",
	}
}

func (v *vfSim) agentEnv() []string { return v.world.Env() }

func (v *vfSim) waitReady(ctx context.Context) error { return v.devd.WaitClients(ctx, 1) }

func (v *vfSim) close() error { return v.devd.Close() }

// step plays half a servicing cycle: odd steps remove hn0's VF, even
// steps bring it back and switch the datapath to it. Each devd line is
// one request.
func (v *vfSim) step(_ context.Context, n int) (requests int, problems []string) {
	send := func(line string) {
		requests++
		if v.devd.Send(line) == 0 {
			problems = append(problems, "devd: no agent connected for "+line)
		}
	}
	update := func(fn func(*vftest.State)) bool {
		if err := v.world.Update(fn); err != nil {
			problems = append(problems, fmt.Sprintf("vftest state: %v", err))
			return false
		}
		return true
	}
	if n%2 == 0 {
		if update(func(st *vftest.State) { st.DetachVF("hn0") }) {
			send("!system=IFNET subsystem=mce0 type=DETACH")
		}
		return requests, problems
	}
	if update(func(st *vftest.State) { st.AttachVF("hn0", "mce0") }) {
		send("!system=IFNET subsystem=mce0 type=ATTACH")
		send("!system=ETHERNET subsystem=mce0 type=IFATTACH")
	}
	if update(func(st *vftest.State) { st.SetDatapath("hn0", true) }) {
		send("!system=IFNET subsystem=mce0 type=LINK_UP")
	}
	return requests, problems
}

func (v *vfSim) rate(o options) float64 { return o.vfRate }
