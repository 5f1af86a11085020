package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/vf/vftest"
)

// vfSide is the VF half of the demo: a guest whose synthetic NIC's VF
// the host removes and returns (servicing), and the agent following it.
// On the FreeBSD protocol it is vfSim, a simulated devd and hn(4); on
// the Linux protocol netvscSim, a network namespace standing in for
// hv_netvsc (netvsc.go).
type vfSide interface {
	hn() string     // the synthetic NIC, the hn label of the agent's metrics
	vfName() string // its VF
	agentArgs() []string
	// macs are the adapters the host asks GET_IP_INFO about; nil: this
	// machine's own.
	macs() []string
	// listen prepares the agent's metrics address addr and returns the
	// address the agent is to listen on.
	listen(addr string) (string, error)
	start(cmd *exec.Cmd) error // starts the agent
	describe() string          // the demo's line about the side, or ""
	counted() []string         // series besides the degraded window's that one servicing moves to 1
	remove(ctx context.Context) error
	restore(ctx context.Context) error
	every() time.Duration // how often the host services the VF after the first round
	close()
}

// newVFSide returns the protocol's VF side, or nil and why it cannot run
// here (the Linux protocol's needs root, ip(8) and a network
// namespace); an error stops the demo.
func newVFSide(ctx context.Context, cfg simConfig) (vfSide, string, error) {
	if cfg.protocol == kvp.FreeBSD {
		v, err := newVFSim(ctx, cfg.dir)
		if err != nil {
			return nil, "", err
		}
		return v, "", nil
	}
	check := cfg.linuxVF
	if check == nil {
		check = linuxVFUnavailable
	}
	if why := check(); why != "" {
		return nil, why, nil
	}
	n, err := newNetvscSim(ctx, cfg.dir)
	if err != nil {
		// Root, and still no namespace (a container without
		// CAP_SYS_ADMIN): ip's own words, on the demo's one line.
		return nil, strings.ReplaceAll(err.Error(), "\n", "; "), nil
	}
	return n, "", nil
}

// vfSim is the VF side on the FreeBSD protocol: a simulated Azure guest
// (vftest.Guest) whose devd and kernel the agent observes, so nothing on
// this machine is reconfigured. The guest is a FreeBSD one (devd, hn(4),
// mce(4)), whatever system the demo runs on.
type vfSim struct{ *vftest.Guest }

func newVFSim(ctx context.Context, dir string) (*vfSim, error) {
	g, err := vftest.NewGuest(ctx, dir)
	if err != nil {
		return nil, err
	}
	return &vfSim{g}, nil
}

// agentArgs are the agent's vf flags for the demo: the simulated guest
// is FreeBSD's, whatever system the demo runs on (--vf.protocol defaults
// to the running system's).
func (v *vfSim) agentArgs() []string {
	return append([]string{"--vf.protocol", "freebsd"}, v.AgentArgs()...)
}

func (v *vfSim) hn() string                         { return "hn0" }
func (v *vfSim) vfName() string                     { return "mce0" }
func (v *vfSim) macs() []string                     { return nil }
func (v *vfSim) listen(addr string) (string, error) { return addr, nil }
func (v *vfSim) describe() string                   { return "" }
func (v *vfSim) counted() []string                  { return nil }
func (v *vfSim) every() time.Duration               { return servicingEvery }

// start starts the agent with the fake sysctl first on its PATH.
func (v *vfSim) start(cmd *exec.Cmd) error {
	cmd.Env = v.World.Env()
	return cmd.Start()
}

// remove: the host takes hn0's VF away.
func (v *vfSim) remove(context.Context) error {
	_, err := v.RemoveVF()
	return err
}

// restore: the host gives it back; hn(4) switches the datapath to it
// again.
func (v *vfSim) restore(context.Context) error {
	_, err := v.ReturnVF()
	return err
}

func (v *vfSim) close() { v.Close() }

// servicing plays host servicing: the host removes the VF for gap and
// adds it back; the kernel switches the datapath to it again.
func (s *sim) servicing(ctx context.Context, gap time.Duration) error {
	v := s.vf
	// Up means the agent has read the topology: changes from now on are
	// changes it must see.
	for {
		body, err := s.scrape(ctx)
		if err == nil && containsLine(body, `hvagent_subsystem_up{subsystem="vf"} 1`) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the agent's vf subsystem did not come up: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Said first, so that it comes before the agent's word on it.
	s.printf("host: servicing: removing VF %s from %s for %v (Azure: typically ~30 s)\n", v.vfName(), v.hn(), gap)
	if err := v.remove(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(gap):
	}
	s.printf("host: servicing done: VF %s returns to %s\n", v.vfName(), v.hn())
	return v.restore(ctx)
}

// vfRound runs one servicing cycle and waits for the agent to count it;
// without a VF side it does nothing.
func (s *sim) vfRound(ctx context.Context) error {
	if s.vf == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := s.servicing(ctx, 2*time.Second); err != nil {
		return err
	}
	for {
		body, err := s.scrape(ctx)
		if err == nil && containsLine(body, `hvagent_vf_degraded_duration_seconds_count{hn="`+s.vf.hn()+`"} 1`) &&
			containsLine(body, `hvagent_vf_datapath_vf{hn="`+s.vf.hn()+`"} 1`) &&
			!slices.ContainsFunc(s.vf.counted(), func(series string) bool { return !containsLine(body, series+" 1") }) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the agent did not count the VF's return: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// servicingEvery is how often the demo's host services the FreeBSD
// guest's VF after the first round. A servicing is three state changes of hn0 (the VF
// leaves, returns, carries the datapath again); more than 6 within a
// minute is a flap storm to the agent (stormChanges and stormWindow in
// vf/state.go), which then logs the changes at DEBUG. Two servicings a
// minute would be exactly 6, so the demo keeps well below with one
// every 45 s: every servicing shows in the log, as on a healthy guest.
const (
	servicingEvery = 45 * time.Second
	servicingGap   = 5 * time.Second // how long the VF is away (Azure: ~30 s)
)

// vfLoop repeats host servicing until ctx ends.
func (s *sim) vfLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.vf.every() - servicingGap):
		}
		if err := s.servicing(ctx, servicingGap); err != nil {
			return
		}
	}
}

// scrape returns the agent's /metrics page.
func (s *sim) scrape(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.cfg.listen+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func containsLine(body, line string) bool {
	for l := range strings.Lines(body) {
		if strings.TrimSuffix(l, "\n") == line {
			return true
		}
	}
	return false
}
