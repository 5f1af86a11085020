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

// vssDemo is the backup side of the simulation: a simulated VSS kernel
// and a host that runs backup cycles (CHECK, FREEZE, snapshot, THAW).
//
// It never freezes the newcomer's own filesystems. Run as root on Linux
// with loop devices, the demo makes a small ext4 image of its own, mounts
// it in its work directory and lets the agent freeze only that
// (--vss.include), so the newcomer sees a complete, real cycle. Anywhere
// else the agent runs with --vss.include naming only a pseudo filesystem
// (/proc on Linux, /dev on FreeBSD); with nothing it may freeze it honestly
// refuses the CHECK, as it would on a guest whose data cannot be made
// consistent, and the demo shows that refusal and why.
type vssDemo struct {
	kernel  *vsstest.Kernel
	include string
	loop    bool         // include is a loop-mounted image of the demo's own
	unmount func() error // nil without a loop image
	cycles  chan []vsstest.Step
}

// newVSSDemo returns nil on systems where the agent cannot read a mount
// table (the demo then runs without VSS).
func newVSSDemo(dir string, printf func(string, ...any)) (*vssDemo, error) {
	include := map[string]string{"linux": "/proc", "freebsd": "/dev"}[runtime.GOOS]
	if include == "" {
		return nil, nil
	}
	d := &vssDemo{include: include, cycles: make(chan []vsstest.Step, 1)}
	if why := vsstest.CanMountLoopFS(); why != "" {
		printf("hvsim: backups will be refused, nothing of yours is frozen (a real freeze of a demo image %s)\n", why)
	} else {
		loopDir := filepath.Join(dir, "vss")
		mnt, unmount, err := mkdirAndMount(loopDir)
		if err != nil {
			printf("hvsim: no demo image to freeze (%v); backups will be refused\n", err)
		} else {
			d.include, d.loop, d.unmount = mnt, true, unmount
			printf("hvsim: the agent may freeze only %s, a 16 MiB ext4 image of the demo's own\n", mnt)
		}
	}
	k, err := vsstest.NewKernel(filepath.Join(dir, "vss.sock"), vsstest.KernelOptions{})
	if err != nil {
		d.close()
		return nil, err
	}
	d.kernel = k
	return d, nil
}

func mkdirAndMount(dir string) (string, func() error, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", nil, err
	}
	return vsstest.MountLoopFS(dir, 16<<20)
}

// close stops the simulated kernel and unmounts the demo image (thawing
// it first, should anything have left it frozen).
func (d *vssDemo) close() {
	if d.kernel != nil {
		d.kernel.Close()
	}
	if d.unmount != nil {
		if err := d.unmount(); err != nil {
			fmt.Fprintf(os.Stderr, "hvsim: %v\n", err)
		}
		d.unmount = nil
	}
}

// agentArgs are the agent's --vss.* flags for the demo.
func (d *vssDemo) agentArgs() []string {
	return []string{"--vss.device", d.kernel.Path(), "--vss.include", d.include}
}

// run plays the host: a backup cycle as soon as the agent holds the
// device, then one every `every`.
func (d *vssDemo) run(ctx context.Context, every time.Duration, printf func(string, ...any)) {
	if err := d.kernel.WaitConnected(ctx); err != nil {
		return
	}
	host := &vsstest.Host{K: d.kernel, Pause: 2 * time.Second}
	for {
		steps := host.Backup(ctx)
		if ctx.Err() != nil {
			return
		}
		printf("host: backup cycle (CHECK, FREEZE, a %v snapshot, THAW): %s\n", host.Pause, describe(steps))
		if refused(steps) && !d.loop {
			printf("host: the guest refused: the demo lets it freeze none of your filesystems (--vss.include %s), "+
				"so it has nothing it can make consistent and says so; a real host now takes a crash-consistent snapshot\n", d.include)
		}
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
		switch {
		case s.Err != nil:
			res = "not answered"
		case s.Status != vsstest.StatusSuccess && s.Op == vsstest.OpCheck:
			res = "refused"
		case s.Status != vsstest.StatusSuccess:
			res = "FAILED"
		}
		if s.Err != nil {
			res += " (" + s.Err.Error() + ")"
		}
		parts = append(parts, fmt.Sprintf("%s %s in %s", names[s.Op], res, s.Duration.Round(10*time.Microsecond)))
	}
	return strings.Join(parts, ", ")
}

// refused reports a cycle that ended with the guest answering no to
// CHECK.
func refused(steps []vsstest.Step) bool {
	return len(steps) == 1 && steps[0].Op == vsstest.OpCheck && steps[0].Err == nil && steps[0].Status != vsstest.StatusSuccess
}

// firstBackup waits for the first backup cycle and fails unless the agent
// answered it: a complete cycle, or the CHECK refusal expected here.
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
		if !vsstest.OK(steps) && !refused(steps) {
			return fmt.Errorf("backup cycle failed: %s", describe(steps))
		}
		return nil
	}
}
