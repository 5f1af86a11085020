package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hvagent/hvagent/vss/vsstest"
)

// vssDemo is the backup side of the simulation: a simulated VSS kernel, a
// host that runs backup cycles (CHECK, FREEZE, snapshot, THAW) and a demo
// hook that shows where an application would quiesce.
//
// It never freezes the newcomer's filesystems: the agent runs with
// --vss.include naming only a pseudo filesystem (/proc on Linux, /dev on
// FreeBSD), which has nothing to freeze, so the cycle exercises the
// protocol, the policy, the hook and the metrics, and freezes nothing.
type vssDemo struct {
	kernel  *vsstest.Kernel
	hooks   string
	include string
	cycles  chan []vsstest.Step
}

// demoHook is what the demo installs in its hooks directory.
const demoHook = `#!/bin/sh
# An application hook: flush and hold writes on "freeze", resume on "thaw"
# (and on "freeze-fail", when the freeze was aborted).
case "$1" in
freeze) echo "demo hook called with 'freeze': a database would flush and hold its writes here" ;;
*) echo "demo hook called with '$1': a database would resume its writes here" ;;
esac
`

// newVSSDemo returns nil on systems where the agent cannot read a mount
// table (the demo then runs without VSS).
func newVSSDemo(dir string) (*vssDemo, error) {
	include := map[string]string{"linux": "/proc", "freebsd": "/dev"}[runtime.GOOS]
	if include == "" {
		return nil, nil
	}
	hooks := filepath.Join(dir, "vss.d")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(hooks, "50-demo"), []byte(demoHook), 0o755); err != nil {
		return nil, err
	}
	k, err := vsstest.NewKernel(filepath.Join(dir, "vss.sock"), vsstest.KernelOptions{})
	if err != nil {
		return nil, err
	}
	return &vssDemo{kernel: k, hooks: hooks, include: include, cycles: make(chan []vsstest.Step, 1)}, nil
}

// agentArgs are the agent's --vss.* flags for the demo.
func (d *vssDemo) agentArgs() []string {
	return []string{"--vss.device", d.kernel.Path(), "--vss.hooks-dir", d.hooks, "--vss.include", d.include}
}

// run plays the host: a backup cycle as soon as the agent holds the
// device, then one every `every`.
func (d *vssDemo) run(ctx context.Context, every time.Duration, printf func(string, ...any)) {
	if err := d.kernel.WaitConnected(ctx); err != nil {
		return
	}
	host := &vsstest.Host{K: d.kernel, Pause: 2 * time.Second}
	for {
		printf("host: backup: asking the guest to CHECK, FREEZE, (snapshot), THAW\n")
		steps := host.Backup(ctx)
		if ctx.Err() != nil {
			return
		}
		printf("host: backup cycle: %s\n", describe(steps))
		select {
		case d.cycles <- steps:
		default:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func describe(steps []vsstest.Step) string {
	names := map[uint32]string{vsstest.OpCheck: "CHECK", vsstest.OpFreeze: "FREEZE", vsstest.OpThaw: "THAW"}
	var parts []string
	for _, s := range steps {
		res := "ok"
		if s.Status != vsstest.StatusSuccess {
			res = "FAILED"
		}
		if s.Err != nil {
			res += " (" + s.Err.Error() + ")"
		}
		parts = append(parts, fmt.Sprintf("%s %s in %s", names[s.Op], res, s.Duration.Round(10*time.Microsecond)))
	}
	return strings.Join(parts, ", ")
}

// firstBackup waits for the first backup cycle and fails unless it
// succeeded.
func (s *sim) firstBackup(ctx context.Context) error {
	if s.vss == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	select {
	case <-ctx.Done():
		return fmt.Errorf("the simulated host did not complete a backup: %w", ctx.Err())
	case steps := <-s.vss.cycles:
		if !vsstest.OK(steps) {
			return fmt.Errorf("backup cycle failed: %s", describe(steps))
		}
		return nil
	}
}
