package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// vssSim drives the agent's VSS subsystem through vsstest: a simulated
// VSS kernel of the run's protocol and a host running backup cycles
// (CHECK, FREEZE, THAW; on Linux HOT_BACKUP, FREEZE, THAW). Like the
// demo, it never freezes this machine's filesystems. As root on Linux
// with loop devices the agent may freeze only a small ext4 image of the
// measurement's own, so every cycle is a real freeze and thaw. Elsewhere
// it runs with --vss.include naming only a pseudo filesystem (/proc on
// Linux, /dev on FreeBSD): the agent then refuses each backup, which is
// the right answer and still exercises the protocol, the policy and the
// metrics. It refuses at CHECK on the FreeBSD protocol; on the Linux one
// it answers HOT_BACKUP with success, as Linux's daemon does, and fails
// the FREEZE.
type vssSim struct {
	kernel         vssKernel
	hooks, include string
	loop           bool         // include is the loop-mounted image
	unmount        func() error // nil without one
}

// vssKernel is a simulated VSS kernel with its host's backup cycle.
type vssKernel interface {
	Path() string
	WaitConnected(context.Context) error
	Close() error
	backup(ctx context.Context) []vssOp
}

// vssOp is one operation of a backup cycle, in its protocol's terms.
type vssOp struct {
	name    string // CHECK, HOT_BACKUP, FREEZE, THAW
	ok      bool   // answered success
	refused bool   // the protocol's "no" before a freeze: CHECK's VSS_FAIL, or Linux's FREEZE HV_E_FAIL
	err     error  // not answered
}

// bsdVSS is FreeBSD's /dev/hv_fsvss_dev, driven by vsstest.Host.
type bsdVSS struct{ *vsstest.Kernel }

func (k bsdVSS) backup(ctx context.Context) []vssOp {
	names := map[uint32]string{vsstest.OpCheck: "CHECK", vsstest.OpFreeze: "FREEZE", vsstest.OpThaw: "THAW"}
	var out []vssOp
	for _, s := range (&vsstest.Host{K: k.Kernel}).Backup(ctx) {
		ok := s.Err == nil && s.Status == vsstest.StatusSuccess
		out = append(out, vssOp{name: names[s.Op], ok: ok, refused: s.Err == nil && !ok && s.Op == vsstest.OpCheck, err: s.Err})
	}
	return out
}

// linuxVSS is Linux's /dev/vmbus/hv_vss (vsstest.LinuxKernel): HOT_BACKUP,
// FREEZE, THAW; like vsstest.Host it stops after a HOT_BACKUP that fails
// and sends THAW even after a failed FREEZE.
type linuxVSS struct{ *vsstest.LinuxKernel }

func (k linuxVSS) backup(ctx context.Context) []vssOp {
	var ops []vssOp
	do := func(name string, op byte) vssOp {
		e, err := k.Transact(ctx, op)
		o := vssOp{name: name, ok: err == nil && e == vsstest.HVSOK, err: err,
			refused: err == nil && op == vsstest.LinuxOpFreeze && e == vsstest.HVEFail}
		ops = append(ops, o)
		return o
	}
	if !do("HOT_BACKUP", vsstest.LinuxOpHotBackup).ok {
		return ops
	}
	do("FREEZE", vsstest.LinuxOpFreeze)
	do("THAW", vsstest.LinuxOpThaw)
	return ops
}

// newVSSSim returns nil on systems without a known pseudo filesystem.
func newVSSSim(dir string, proto kvp.Protocol) (*vssSim, error) {
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
	sock := filepath.Join(dir, "vss.sock")
	var err error
	if proto == kvp.Linux {
		var k *vsstest.LinuxKernel
		if k, err = vsstest.NewLinuxKernel(sock, vsstest.LinuxKernelOptions{}); err == nil {
			v.kernel = linuxVSS{k}
		}
	} else {
		var k *vsstest.Kernel
		if k, err = vsstest.NewKernel(sock, vsstest.KernelOptions{}); err == nil {
			v.kernel = bsdVSS{k}
		}
	}
	if err != nil {
		v.close()
		return nil, err
	}
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

// step runs one backup cycle; each operation is one request. Without a
// loop image the refusal is the answer: a cycle that stops at the refused
// CHECK, or (Linux) a refused FREEZE between a HOT_BACKUP and a THAW
// answered success.
func (v *vssSim) step(ctx context.Context, _ int) (requests int, problems []string) {
	ops := v.kernel.backup(ctx)
	want := 3
	if !v.loop && len(ops) > 0 && ops[0].refused {
		want = 1
	}
	for _, o := range ops {
		requests++
		switch {
		case o.err != nil:
			problems = append(problems, fmt.Sprintf("vss %s: %v", o.name, o.err))
		case o.refused && v.loop:
			problems = append(problems, fmt.Sprintf("vss %s: refused", o.name))
		case !o.ok && !o.refused:
			problems = append(problems, fmt.Sprintf("vss %s: failed", o.name))
		}
	}
	if len(ops) != want && ctx.Err() == nil {
		problems = append(problems, fmt.Sprintf("vss: backup cycle stopped after %d operations", len(ops)))
	}
	return requests, problems
}
