package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hvagent/hvagent/vf/vftest"
)

// vfSim is the VF side of the demo: a simulated Azure guest
// (vftest.Guest) whose devd and kernel the agent observes, so nothing on
// this machine is reconfigured. The guest is a FreeBSD one (devd, hn(4),
// mce(4)), so the demo has a VF side only on the FreeBSD protocol: the
// agent's Linux VF observer follows hv_netvsc through rtnetlink, which the
// demo does not simulate, and the demo says so rather than play FreeBSD's
// story under the Linux name.
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

// close stops the fakes; a nil vfSim (no VF side) has none.
func (v *vfSim) close() {
	if v != nil {
		v.Close()
	}
}

// servicing plays host servicing: the host removes hn0's VF for gap and
// adds it back; hn(4) switches the datapath to it again.
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
	s.printf("host: servicing: removing VF mce0 from hn0 for %v (Azure: typically ~30 s)\n", gap)
	if _, err := v.RemoveVF(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(gap):
	}
	s.printf("host: servicing done: VF mce0 returns to hn0\n")
	_, err := v.ReturnVF()
	return err
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
		if err == nil && containsLine(body, `hvagent_vf_degraded_duration_seconds_count{hn="hn0"} 1`) &&
			containsLine(body, `hvagent_vf_datapath_vf{hn="hn0"} 1`) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the agent did not count the VF's return: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// servicingEvery is how often the demo's host services the VF after the
// first round. A servicing is three state changes of hn0 (the VF
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
		case <-time.After(servicingEvery - servicingGap):
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
