package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/hvagent/hvagent/vss/vsstest"
)

// vssSim drives the agent's VSS subsystem through vsstest: a simulated
// VSS kernel device and a host running backup cycles (CHECK, FREEZE,
// THAW). Like the demo, it never freezes this machine's filesystems: the
// agent runs with --vss.include naming only a pseudo filesystem (/proc on
// Linux, /dev on FreeBSD), which has nothing to freeze, so the cycles
// exercise the protocol, the policy and the metrics, and freeze nothing.
type vssSim struct {
	kernel         *vsstest.Kernel
	host           *vsstest.Host
	hooks, include string
}

// newVSSSim returns nil on systems without a known pseudo filesystem.
func newVSSSim(dir string) (*vssSim, error) {
	include := map[string]string{"linux": "/proc", "freebsd": "/dev"}[runtime.GOOS]
	if include == "" {
		return nil, nil
	}
	hooks := filepath.Join(dir, "vss.d") // empty: no hooks run
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		return nil, err
	}
	k, err := vsstest.NewKernel(filepath.Join(dir, "vss.sock"), vsstest.KernelOptions{})
	if err != nil {
		return nil, err
	}
	return &vssSim{kernel: k, host: &vsstest.Host{K: k}, hooks: hooks, include: include}, nil
}

func (v *vssSim) subsystem() string { return "vss" }

func (v *vssSim) agentArgs() []string {
	return []string{"--vss.device", v.kernel.Path(), "--vss.hooks-dir", v.hooks, "--vss.include", v.include}
}

func (v *vssSim) agentEnv() []string { return nil }

func (v *vssSim) rate(o options) float64 { return o.vssRate }

func (v *vssSim) waitReady(ctx context.Context) error { return v.kernel.WaitConnected(ctx) }

func (v *vssSim) close() error { return v.kernel.Close() }

// step runs one backup cycle; each operation is one request.
func (v *vssSim) step(ctx context.Context, _ int) (requests int, problems []string) {
	steps := v.host.Backup(ctx)
	names := map[uint32]string{vsstest.OpCheck: "CHECK", vsstest.OpFreeze: "FREEZE", vsstest.OpThaw: "THAW"}
	for _, s := range steps {
		requests++
		switch {
		case s.Err != nil:
			problems = append(problems, fmt.Sprintf("vss %s: %v", names[s.Op], s.Err))
		case s.Status != vsstest.StatusSuccess:
			problems = append(problems, fmt.Sprintf("vss %s: status %d", names[s.Op], s.Status))
		}
	}
	if len(steps) != 3 && ctx.Err() == nil {
		problems = append(problems, fmt.Sprintf("vss: backup cycle stopped after %d operations", len(steps)))
	}
	return requests, problems
}
