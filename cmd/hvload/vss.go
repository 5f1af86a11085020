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
// THAW). Like the demo, it never freezes this machine's filesystems. As
// root on Linux with loop devices the agent may freeze only a small ext4
// image of the measurement's own, so every cycle is a real freeze and
// thaw. Elsewhere it runs with --vss.include naming only a pseudo
// filesystem (/proc on Linux, /dev on FreeBSD): the agent then refuses
// each CHECK, which is the right answer and still exercises the protocol,
// the policy and the metrics.
type vssSim struct {
	kernel         *vsstest.Kernel
	host           *vsstest.Host
	hooks, include string
	loop           bool         // include is the loop-mounted image
	unmount        func() error // nil without one
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
	v := &vssSim{hooks: hooks, include: include}
	if vsstest.CanMountLoopFS() == "" {
		loopDir := filepath.Join(dir, "vss")
		if err := os.Mkdir(loopDir, 0o700); err != nil {
			return nil, err
		}
		mnt, unmount, err := vsstest.MountLoopFS(loopDir, 16<<20)
		if err != nil {
			return nil, err
		}
		v.include, v.loop, v.unmount = mnt, true, unmount
	}
	k, err := vsstest.NewKernel(filepath.Join(dir, "vss.sock"), vsstest.KernelOptions{})
	if err != nil {
		v.close()
		return nil, err
	}
	v.kernel, v.host = k, &vsstest.Host{K: k}
	return v, nil
}

func (v *vssSim) subsystem() string { return "vss" }

func (v *vssSim) agentArgs() []string {
	return []string{"--vss.device", v.kernel.Path(), "--vss.hooks-dir", v.hooks, "--vss.include", v.include}
}

func (v *vssSim) agentEnv() []string { return nil }

func (v *vssSim) rate(o options) float64 { return o.vssRate }

func (v *vssSim) waitReady(ctx context.Context) error { return v.kernel.WaitConnected(ctx) }

// close stops the simulated kernel, then unmounts the image (thawing it
// first, should anything have left it frozen).
func (v *vssSim) close() error {
	var err error
	if v.kernel != nil {
		err = v.kernel.Close()
	}
	if v.unmount != nil {
		if uerr := v.unmount(); uerr != nil && err == nil {
			err = uerr
		}
		v.unmount = nil
	}
	return err
}

// step runs one backup cycle; each operation is one request.
func (v *vssSim) step(ctx context.Context, _ int) (requests int, problems []string) {
	steps := v.host.Backup(ctx)
	if !v.loop && len(steps) == 1 && steps[0].Op == vsstest.OpCheck && steps[0].Err == nil {
		// Nothing the agent may freeze: refusing the CHECK is the answer.
		return 1, nil
	}
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
