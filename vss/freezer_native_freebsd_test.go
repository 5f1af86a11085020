//go:build freebsd

package vss

// FreeBSD-native tests of the freezer: UFS filesystems on md(4) swap
// disks the test makes, suspended through /dev/ufssuspend by the real
// freezer child. They need root, mdconfig(8), newfs(8) and the kernel's
// ufssuspend device; without them they skip, except under CI=true
// (.github/workflows/freebsd.yml), where they fail. Nothing but the
// filesystems these tests create is ever frozen.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hvagent/hvagent/internal/nativetest"
)

// mdUFS makes a 32 MiB swap-backed md(4) disk with a fresh UFS, mounts it
// on a directory of the test and returns the freezer's target for it,
// read back from the mount table the way the planner reads it. Cleanup
// unmounts it and destroys the disk.
func mdUFS(t *testing.T) Target {
	t.Helper()
	nativetest.Need(t, os.Geteuid() == 0, "needs root for mdconfig and mount")
	for _, tool := range []string{"mdconfig", "newfs", "mount", "umount"} {
		_, err := exec.LookPath(tool)
		nativetest.Need(t, err == nil, tool+" not found")
	}
	_, err := os.Stat("/dev/ufssuspend")
	nativetest.Need(t, err == nil, "no /dev/ufssuspend (kernel without UFS)")
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	md := nativetest.Run(t, "mdconfig", "-a", "-t", "swap", "-s", "32m")
	t.Cleanup(func() {
		if out, err := exec.Command("mdconfig", "-d", "-u", md).CombinedOutput(); err != nil {
			t.Errorf("mdconfig -d -u %s: %v\n%s", md, err, out)
		}
	})
	nativetest.Run(t, "newfs", "/dev/"+md)
	nativetest.Run(t, "mount", "-t", "ufs", "/dev/"+md, dir)
	t.Cleanup(func() {
		for i := 0; ; i++ {
			out, err := exec.Command("umount", dir).CombinedOutput()
			if err == nil {
				return
			}
			if i == 50 {
				t.Errorf("umount %s: %v\n%s", dir, err, out)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	mounts, err := ReadMounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if m.Dir == dir {
			if m.Type != "ufs" || m.Source != "/dev/"+md || m.ReadOnly {
				t.Fatalf("mount table entry %+v, want a writable ufs on /dev/%s", m, md)
			}
			return Target{Dir: dir, Fsid: m.Fsid}
		}
	}
	t.Fatalf("%s is not in the mount table", dir)
	return Target{}
}

// ufsWriter creates and fsyncs a file in the background; done closes
// when that returned.
type ufsWriter struct {
	done chan struct{}
	err  error
}

// startUFSWrite starts a write on dir. Its cleanup first calls thaw (so
// a failing test never waits on a suspended filesystem), then waits for
// the write.
func startUFSWrite(t *testing.T, dir string, thaw func()) *ufsWriter {
	w := &ufsWriter{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		f, err := os.Create(filepath.Join(dir, "written-while-frozen"))
		if err == nil {
			_, err = f.WriteString("a write that waits for the thaw\n")
			if err == nil {
				err = f.Sync()
			}
			f.Close()
		}
		w.err = err
	}()
	t.Cleanup(func() { thaw(); <-w.done })
	return w
}

// stillBlocked reports whether the write is still waiting after d.
func (w *ufsWriter) stillBlocked(d time.Duration) bool {
	select {
	case <-w.done:
		return false
	case <-time.After(d):
		return true
	}
}

// finishes requires the write to complete (within a generous bound: a
// write that never returns is a filesystem left suspended).
func (w *ufsWriter) finishes(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
		if w.err != nil {
			t.Fatalf("write: %v", w.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("write still blocked 30 s after the thaw: the filesystem stayed suspended")
	}
}

// freezeUFS freezes targets with the package's freezer; cleanup kills it,
// which resumes whatever it still holds.
func freezeUFS(t *testing.T, targets ...Target) *Frozen {
	t.Helper()
	f, err := Freeze(targets, 10*time.Second, 0)
	if err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	t.Cleanup(f.kill)
	return f
}

// The real freezer suspends a UFS: a write blocks while it is frozen and
// completes after the commanded thaw.
func TestNativeUFSFreezeBlocksWrites(t *testing.T) {
	fs := mdUFS(t)
	f := freezeUFS(t, fs)
	w := startUFSWrite(t, fs.Dir, f.kill)
	if !w.stillBlocked(500 * time.Millisecond) {
		t.Fatalf("a write finished on a suspended filesystem (err %v)", w.err)
	}
	reason, err := f.Thaw(10 * time.Second)
	if err != nil || reason != ThawCommanded {
		t.Fatalf("Thaw = %v, %v; want %v, nil", reason, err, ThawCommanded)
	}
	w.finishes(t)
}

// A freezer killed with SIGKILL cannot thaw, but the kernel resumes the
// filesystem when the freezer's /dev/ufssuspend descriptor closes
// (ffs_susp_dtor, sys/ufs/ffs/ffs_suspend.c), and Recover reports the
// freezer's death.
func TestNativeUFSKilledFreezerThaws(t *testing.T) {
	fs := mdUFS(t)
	f := freezeUFS(t, fs)
	w := startUFSWrite(t, fs.Dir, f.kill)
	if !w.stillBlocked(500 * time.Millisecond) {
		t.Fatalf("a write finished on a suspended filesystem (err %v)", w.err)
	}
	if err := syscall.Kill(f.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-f.Exited()
	w.finishes(t)
	if _, err := f.Recover(); !errors.Is(err, ErrFreezerDied) {
		t.Fatalf("Recover error %v, want %v", err, ErrFreezerDied)
	}
}

// Two UFS filesystems are suspended at once, each through its own
// /dev/ufssuspend descriptor (the base hv_vss_daemon reuses one and fails
// here), and both resume on the thaw.
func TestNativeUFSFreezeTwo(t *testing.T) {
	a, b := mdUFS(t), mdUFS(t)
	if a.Fsid == b.Fsid {
		t.Fatalf("two filesystems with one fsid %v", a.Fsid)
	}
	f := freezeUFS(t, a, b)
	wa := startUFSWrite(t, a.Dir, f.kill)
	wb := startUFSWrite(t, b.Dir, f.kill)
	for _, w := range []*ufsWriter{wa, wb} {
		if !w.stillBlocked(500 * time.Millisecond) {
			t.Fatalf("a write finished on a suspended filesystem (err %v)", w.err)
		}
	}
	if reason, err := f.Thaw(10 * time.Second); err != nil || reason != ThawCommanded {
		t.Fatalf("Thaw = %v, %v; want %v, nil", reason, err, ThawCommanded)
	}
	wa.finishes(t)
	wb.finishes(t)
}

// A target the kernel refuses (an fsid no mounted filesystem has) fails
// the freeze with the kernel's error, and the filesystem frozen before it
// (targets freeze in reverse order) is left resumed.
func TestNativeUFSFreezeFailureResumes(t *testing.T) {
	fs := mdUFS(t)
	bogus := Target{Dir: fs.Dir + "/bogus", Fsid: [2]int32{^fs.Fsid[0], ^fs.Fsid[1]}}
	f, err := Freeze([]Target{bogus, fs}, 10*time.Second, 0)
	if err == nil {
		f.kill()
		t.Fatal("Freeze of an unknown fsid succeeded")
	}
	if !strings.Contains(err.Error(), bogus.Dir) {
		t.Errorf("error %q does not name %s", err, bogus.Dir)
	}
	startUFSWrite(t, fs.Dir, func() {}).finishes(t)
	t.Logf("kernel refused the unknown fsid: %v", err)
}
