package vftest

import (
	"context"
	"fmt"
	"path/filepath"
)

// Guest is a simulated Azure guest for the demo and the load measurement:
// hn0 in hn(4)'s default transparent mode with mce0 carrying its traffic,
// a fake devd on a seqpacket socket, and the fake FreeBSD commands (the
// simulated kernel's sysctls among them) for the agent's PATH. The agent
// is meant to run in observe mode against it (AgentArgs), so nothing on
// the machine running it is reconfigured.
type Guest struct {
	World *World
	Devd  *Devd
}

// NewGuest builds the fakes and lays out the guest's files under dir.
func NewGuest(ctx context.Context, dir string) (*Guest, error) {
	w, err := NewWorld(filepath.Join(dir, "vf"))
	if err != nil {
		return nil, err
	}
	fake, err := BuildFakes(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := w.Install(fake); err != nil {
		return nil, err
	}
	err = w.Update(func(st *State) {
		st.AddHN("hn0", true, "10.0.0.4/24")
		st.AttachVF("hn0", "mce0")
		st.SetDatapath("hn0", true)
	})
	if err != nil {
		return nil, err
	}
	d, err := NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		return nil, err
	}
	return &Guest{World: w, Devd: d}, nil
}

// AgentArgs are the agent's vf flags: observe mode, the fake devd, and
// sysctls read through the fake command (the simulated kernel, also on
// FreeBSD).
func (g *Guest) AgentArgs() []string {
	return []string{
		"--vf.devd-socket", g.Devd.Path(),
		"--vf.mode", "observe",
		"--vf.base-rules", filepath.Join(g.World.Dir, "hyperv.conf"),
		"--vf.override-dir", filepath.Join(g.World.Dir, "libexec"),
		"--vf.sysctl-command",
	}
}

// Env puts the fake commands first on the agent's PATH.
func (g *Guest) Env() []string { return g.World.Env() }

// RemoveVF is the host taking hn0's VF away (servicing, migration): the
// kernel state changes, then devd reports it. It returns how many devd
// lines it sent; an error says a line reached no agent.
func (g *Guest) RemoveVF() (int, error) {
	if err := g.World.Update(func(st *State) { st.DetachVF("hn0") }); err != nil {
		return 0, err
	}
	return g.send("!system=IFNET subsystem=mce0 type=DETACH")
}

// ReturnVF is the host giving mce0 back and hn(4) switching hn0's
// datapath to it again, with the devd lines of each step.
func (g *Guest) ReturnVF() (int, error) {
	if err := g.World.Update(func(st *State) { st.AttachVF("hn0", "mce0") }); err != nil {
		return 0, err
	}
	n, err := g.send("!system=IFNET subsystem=mce0 type=ATTACH", "!system=ETHERNET subsystem=mce0 type=IFATTACH")
	if err != nil {
		return n, err
	}
	if err := g.World.Update(func(st *State) { st.SetDatapath("hn0", true) }); err != nil {
		return n, err
	}
	m, err := g.send("!system=IFNET subsystem=mce0 type=LINK_UP")
	return n + m, err
}

func (g *Guest) send(lines ...string) (int, error) {
	for i, l := range lines {
		if g.Devd.Send(l) == 0 {
			return i + 1, fmt.Errorf("vftest: devd: no agent connected for %q", l)
		}
	}
	return len(lines), nil
}

// Close stops the fake devd.
func (g *Guest) Close() error { return g.Devd.Close() }
