package vss

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hvagent/hvagent/vss/vsstest"
)

// writer writes a file on dir in the background; done closes when the
// write (and its fsync) returned. Its cleanup thaws dir first, so a
// failing test never waits forever on a frozen filesystem.
type writer struct {
	done chan struct{}
	err  error
}

func startWrite(t *testing.T, dir, name string) *writer {
	w := &writer{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		f, err := os.Create(filepath.Join(dir, name))
		if err == nil {
			_, err = f.WriteString("written while frozen?\n")
			if err == nil {
				err = f.Sync()
			}
			f.Close()
		}
		w.err = err
	}()
	t.Cleanup(func() { vsstest.ThawFS(dir); <-w.done })
	return w
}

// blocked reports whether the write is still waiting after d.
func (w *writer) blocked(d time.Duration) bool {
	select {
	case <-w.done:
		return false
	case <-time.After(d):
		return true
	}
}

func (w *writer) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-w.done:
		if w.err != nil {
			t.Fatalf("write: %v", w.err)
		}
	case <-time.After(d):
		t.Fatalf("write still blocked after %s: the filesystem stayed frozen", d)
	}
}

// procThreads reads Threads: from /proc/pid/status.
func procThreads(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			var n int
			fmt.Sscan(strings.TrimSpace(v), &n)
			return n
		}
	}
	t.Fatalf("no Threads: line in /proc/%d/status", pid)
	return 0
}

func TestFreezerFreezesAndThaws(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	f, err := Freeze([]Target{{Dir: mnt}}, 10*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.kill(); vsstest.ThawFS(mnt) })
	if n := procThreads(t, f.Pid()); n != 1 {
		t.Errorf("freezer has %d threads, want 1", n)
	}
	// Only the two pipe ends and the frozen directory are open.
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", f.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	var fds []string
	for _, e := range ents {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", f.Pid(), e.Name()))
		fds = append(fds, e.Name()+"->"+link)
	}
	if len(fds) != 3 || !strings.HasPrefix(fds[0], "0->pipe:") || !strings.HasPrefix(fds[1], "1->pipe:") || !strings.HasSuffix(fds[2], "->"+mnt) {
		t.Errorf("freezer descriptors %q, want 0 and 1 pipes and one for %s", fds, mnt)
	}
	w := startWrite(t, mnt, "a")
	if !w.blocked(300 * time.Millisecond) {
		t.Fatalf("write finished on a frozen filesystem (err %v)", w.err)
	}
	reason, err := f.Thaw(5 * time.Second)
	if err != nil || reason != ThawCommanded {
		t.Fatalf("Thaw = %v, %v; want commanded, nil", reason, err)
	}
	w.wait(t, 5*time.Second)
}

func TestFreezerThawsOnEOF(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	f, err := Freeze([]Target{{Dir: mnt}}, 10*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.kill(); vsstest.ThawFS(mnt) })
	w := startWrite(t, mnt, "a")
	f.closeCmd(false) // what the agent's death looks like to the child
	w.wait(t, 5*time.Second)
	if reason, err := f.Recover(); err != nil || reason != ThawAgentGone {
		t.Fatalf("Recover = %v, %v; want agent gone, nil", reason, err)
	}
}

func TestFreezerOwnDeadline(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	f, err := Freeze([]Target{{Dir: mnt}}, 10*time.Second, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.kill(); vsstest.ThawFS(mnt) })
	select {
	case <-f.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("freezer did not thaw at its own deadline")
	}
	if reason, err := f.Recover(); err != nil || reason != ThawDeadline {
		t.Fatalf("Recover = %v, %v; want freezer deadline, nil", reason, err)
	}
	startWrite(t, mnt, "a").wait(t, 5*time.Second)
}

func TestFreezerKilledAgentThaws(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	f, err := Freeze([]Target{{Dir: mnt}}, 10*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.kill(); vsstest.ThawFS(mnt) })
	w := startWrite(t, mnt, "a")
	if err := syscall.Kill(f.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-f.Exited()
	// On Linux the filesystem is still frozen: the freezer died without
	// thawing. Recover must notice and thaw it.
	if !w.blocked(200 * time.Millisecond) {
		t.Log("filesystem thawed before Recover (kernel behaviour changed?)")
	}
	if _, err := f.Recover(); !errors.Is(err, ErrFreezerDied) {
		t.Fatalf("Recover error %v, want ErrFreezerDied", err)
	}
	w.wait(t, 5*time.Second)
}

func TestFreezeFailureLeavesNothingFrozen(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	tests := []struct {
		name    string
		targets []Target
		errno   error
	}{
		// Reverse order: mnt is frozen first, then the second one fails.
		{"missing", []Target{{Dir: filepath.Join(mnt, "nope")}, {Dir: mnt}}, syscall.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Freeze(tt.targets, 10*time.Second, 0)
			if err == nil {
				f.kill()
				vsstest.ThawFS(mnt)
				t.Fatal("Freeze succeeded")
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("error %v, want %v", err, tt.errno)
			}
			startWrite(t, mnt, tt.name).wait(t, 5*time.Second)
		})
	}
}

// The same filesystem reached twice (mounted twice, btrfs subvolumes):
// the second FIFREEZE's EBUSY and the second FITHAW's EINVAL count as
// success, as tools/hv/hv_vss_daemon.c's vss_do_freeze counts them.
func TestFreezeSameFilesystemTwice(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	f, err := Freeze([]Target{{Dir: mnt}, {Dir: mnt}}, 10*time.Second, 0)
	if err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	t.Cleanup(func() { f.kill(); vsstest.ThawFS(mnt) })
	w := startWrite(t, mnt, "twice")
	if !w.blocked(200 * time.Millisecond) {
		t.Fatal("write finished while frozen")
	}
	if reason, err := f.Thaw(5 * time.Second); err != nil || reason != ThawCommanded {
		t.Fatalf("Thaw: %v, %v", reason, err)
	}
	w.wait(t, 5*time.Second)
}

// A freeze that does not report in time is abandoned: the freezer is
// killed, and whatever it froze meanwhile is thawed once it is gone.
func TestFreezeTimeoutThaws(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	hit := false
	for i := 0; i < 50 && !hit; i++ {
		f, err := Freeze([]Target{{Dir: mnt}}, time.Nanosecond, 0)
		if err == nil { // the report won the race against the timer
			if _, err := f.Thaw(5 * time.Second); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if !strings.Contains(err.Error(), "did not finish") {
			t.Fatalf("Freeze: %v", err)
		}
		hit = true
		startWrite(t, mnt, fmt.Sprint("w", i)).wait(t, 5*time.Second)
	}
	if !hit {
		t.Skip("the freezer always reported before a 1 ns timer; timeout path not exercised")
	}
}
