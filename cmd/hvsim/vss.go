package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// vssDemo is the backup side of the simulation: a simulated VSS kernel
// of the demo's protocol and a host that runs backup cycles (CHECK,
// FREEZE, snapshot, THAW; on Linux, which has no CHECK, HOT_BACKUP takes
// its place).
//
// It never freezes the newcomer's own filesystems. Run as root on Linux
// with loop devices, the demo makes a small ext4 image of its own, mounts
// it in its work directory and lets the agent freeze only that
// (--vss.include), so the newcomer sees a complete, real cycle. Anywhere
// else the agent runs with --vss.include naming only a pseudo filesystem
// (/proc on Linux, /dev on FreeBSD); with nothing it may freeze it honestly
// refuses the backup, as it would on a guest whose data cannot be made
// consistent, and the demo shows that refusal and why: at CHECK on the
// FreeBSD protocol, at FREEZE on the Linux one (its daemon answers
// HOT_BACKUP with success whatever follows, as Linux's hv_vss_daemon does).
type vssDemo struct {
	kernel  vssKernel
	include string
	loop    bool         // include is a loop-mounted image of the demo's own
	unmount func() error // nil without a loop image
	cycles  chan []step
}

// step is one operation of a backup cycle, in its protocol's terms.
type step struct {
	op      string        // CHECK, HOT_BACKUP, FREEZE, THAW
	ok      bool          // answered success
	refused bool          // answered the protocol's "no" before a freeze: CHECK's VSS_FAIL, or Linux's FREEZE HV_E_FAIL
	err     error         // not answered
	took    time.Duration // request to reply
}

// vssKernel is a simulated VSS kernel with its host's backup cycle.
type vssKernel interface {
	Path() string
	WaitConnected(context.Context) error
	Close() error
	// ops names the cycle's operations, for the demo's line about it.
	ops() [2]string // the first operation, and the last
	// backup runs one cycle as Hyper-V does, with pause for the snapshot.
	backup(ctx context.Context, pause time.Duration) []step
}

// bsdVSS is FreeBSD's /dev/hv_fsvss_dev, driven by vsstest.Host.
type bsdVSS struct{ *vsstest.Kernel }

func (bsdVSS) ops() [2]string { return [2]string{"CHECK", "THAW"} }

func (k bsdVSS) backup(ctx context.Context, pause time.Duration) []step {
	names := map[uint32]string{vsstest.OpCheck: "CHECK", vsstest.OpFreeze: "FREEZE", vsstest.OpThaw: "THAW"}
	var out []step
	for _, s := range (&vsstest.Host{K: k.Kernel, Pause: pause}).Backup(ctx) {
		ok := s.Err == nil && s.Status == vsstest.StatusSuccess
		out = append(out, step{op: names[s.Op], ok: ok, refused: s.Err == nil && !ok && s.Op == vsstest.OpCheck,
			err: s.Err, took: s.Duration})
	}
	return out
}

// linuxVSS is Linux's /dev/vmbus/hv_vss (vsstest.LinuxKernel). The
// host's cycle is HOT_BACKUP, FREEZE, the snapshot, THAW; like
// vsstest.Host it stops after a HOT_BACKUP that fails and sends THAW even
// after a failed FREEZE, so a guest that froze late thaws.
type linuxVSS struct{ *vsstest.LinuxKernel }

func (linuxVSS) ops() [2]string { return [2]string{"HOT_BACKUP", "THAW"} }

func (k linuxVSS) backup(ctx context.Context, pause time.Duration) []step {
	var steps []step
	do := func(name string, op byte) step {
		start := time.Now()
		e, err := k.Transact(ctx, op)
		s := step{op: name, ok: err == nil && e == vsstest.HVSOK, err: err, took: time.Since(start)}
		s.refused = err == nil && op == vsstest.LinuxOpFreeze && e == vsstest.HVEFail
		steps = append(steps, s)
		return s
	}
	if s := do("HOT_BACKUP", vsstest.LinuxOpHotBackup); !s.ok {
		return steps
	}
	if s := do("FREEZE", vsstest.LinuxOpFreeze); s.ok {
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
	}
	do("THAW", vsstest.LinuxOpThaw)
	return steps
}

// newVSSDemo returns nil on systems where the agent cannot read a mount
// table (the demo then runs without VSS).
func newVSSDemo(dir string, proto kvp.Protocol, printf func(string, ...any)) (*vssDemo, error) {
	include := map[string]string{"linux": "/proc", "freebsd": "/dev"}[runtime.GOOS]
	if include == "" {
		return nil, nil
	}
	d := &vssDemo{include: include, cycles: make(chan []step, 1)}
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
	sock := filepath.Join(dir, "vss.sock")
	var err error
	if proto == kvp.Linux {
		var k *vsstest.LinuxKernel
		if k, err = vsstest.NewLinuxKernel(sock, vsstest.LinuxKernelOptions{}); err == nil {
			d.kernel = linuxVSS{k}
			printf("hvsim: Linux's VSS protocol has no CHECK: the host asks HOT_BACKUP, which the guest answers yes " +
				"as Linux's hv_vss_daemon does, then FREEZE and THAW\n")
		}
	} else {
		var k *vsstest.Kernel
		if k, err = vsstest.NewKernel(sock, vsstest.KernelOptions{}); err == nil {
			d.kernel = bsdVSS{k}
		}
	}
	if err != nil {
		d.close()
		return nil, err
	}
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
	const pause = 2 * time.Second
	ops := d.kernel.ops()
	for {
		steps := d.kernel.backup(ctx, pause)
		if ctx.Err() != nil {
			return
		}
		printf("host: backup cycle (%s, FREEZE, a %v snapshot, %s): %s\n", ops[0], pause, ops[1], describe(steps))
		if op := refusedAt(steps); op != "" && !d.loop {
			printf("host: the guest refused the %s: the demo lets it freeze none of your filesystems (--vss.include %s), "+
				"so it has nothing it can make consistent and says so; a real host now takes a crash-consistent snapshot\n", op, d.include)
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

func describe(steps []step) string {
	var parts []string
	for _, s := range steps {
		res := "ok"
		switch {
		case s.err != nil:
			res = "not answered (" + s.err.Error() + ")"
		case s.refused:
			res = "refused"
		case !s.ok:
			res = "FAILED"
		}
		parts = append(parts, fmt.Sprintf("%s %s in %s", s.op, res, s.took.Round(10*time.Microsecond)))
	}
	return strings.Join(parts, ", ")
}

// refusedAt names the operation at which the guest refused the cycle,
// or is "" if it did not.
func refusedAt(steps []step) string {
	for _, s := range steps {
		if s.refused {
			return s.op
		}
	}
	return ""
}

// complete reports a cycle of three operations, all answered success.
func complete(steps []step) bool {
	if len(steps) != 3 {
		return false
	}
	for _, s := range steps {
		if !s.ok {
			return false
		}
	}
	return true
}

// answered reports a cycle the guest answered as the demo's setting
// calls for: complete with a demo image to freeze, refused (and any THAW
// after the refusal answered) without one.
func (d *vssDemo) answered(steps []step) bool {
	if d.loop {
		return complete(steps)
	}
	if refusedAt(steps) == "" {
		return false
	}
	for _, s := range steps {
		if !s.ok && !s.refused {
			return false
		}
	}
	return true
}

// firstBackup waits for the first backup cycle and fails unless the agent
// answered it: a complete cycle, or the refusal expected here.
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
		if !s.vss.answered(steps) {
			return fmt.Errorf("backup cycle failed: %s", describe(steps))
		}
		return nil
	}
}
