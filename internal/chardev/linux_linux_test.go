package chardev_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
)

// TestLinuxKernelLateNode runs OpenLinux on the real kernel's Sys for a
// node whose directory does not exist yet, as /dev/vmbus before the first
// integration service's channel opens. The backoff is an hour, so only
// inotify (on the temp dir, then on the new directory) can end the wait:
// without it the test hangs and fails.
func TestLinuxKernelLateNode(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "vmbus")
	node := filepath.Join(dir, "hv_kvp")
	waiting := make(chan struct{})
	o := chardev.LinuxOptions{MsgSize: 1, Backoff: time.Hour, MaxBackoff: time.Hour,
		Waiting: func(string, error) { close(waiting) }}
	done := make(chan error, 1)
	go func() {
		d, err := chardev.OpenLinux(context.Background(), chardev.Kernel, node, o)
		if err == nil {
			err = d.Close()
		}
		done <- err
	}()
	<-waiting
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(node, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("OpenLinux after the node appeared: %v", err)
		}
	case <-time.After(hangTime):
		t.Fatal("OpenLinux still waits after the node appeared: inotify did not wake it")
	}
}

// TestLinuxKernelWatchNode: the watch falls back to the nearest existing
// ancestor and wakes on a creation there.
func TestLinuxKernelWatchNode(t *testing.T) {
	root := t.TempDir()
	w, err := chardev.Kernel.(chardev.NodeWatcher).WatchNode(filepath.Join(root, "vmbus", "hv_vss"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Wait(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with an ended context = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Wait(context.Background(), time.Hour) }()
	if err := os.Mkdir(filepath.Join(root, "vmbus"), 0o755); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hangTime):
		t.Fatal("Wait did not wake when the parent directory was created")
	}
}

// TestLinuxNoInheritance opens a device with the real kernel's Sys and
// execs a child: the descriptor must carry FD_CLOEXEC and must not be
// among the child's descriptors, or a restarted agent would find the
// device held by the freeze helper (hv_utils_transport.c counts open file
// descriptions: hvt_op_open, -EBUSY).
func TestLinuxNoInheritance(t *testing.T) {
	node := filepath.Join(t.TempDir(), "hv_kvp")
	if err := os.WriteFile(node, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := chardev.OpenLinux(context.Background(), chardev.Kernel, node, chardev.LinuxOptions{MsgSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	fd := -1
	for _, e := range fds {
		if target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); target == node {
			fmt.Sscan(e.Name(), &fd)
		}
	}
	if fd < 0 {
		t.Fatalf("no descriptor of ours points at %s", node)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("descriptor %d has no FD_CLOEXEC", fd)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestLinuxListFDs$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CHARDEV_LIST_FDS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "fd ") {
		t.Fatalf("the child listed no descriptors:\n%s", out)
	}
	if strings.Contains(string(out), node) {
		t.Errorf("the child inherited the device:\n%s", out)
	}
}

// TestLinuxListFDs is the child's side of TestLinuxNoInheritance: it
// prints where each of its descriptors points.
func TestLinuxListFDs(t *testing.T) {
	if os.Getenv("CHARDEV_LIST_FDS") != "1" {
		t.Skip("runs only as TestLinuxNoInheritance's child")
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fds {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		fmt.Printf("fd %s -> %s\n", e.Name(), target)
	}
}
