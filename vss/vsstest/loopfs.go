package vsstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// LoopFS creates a 64 MiB ext4 image in a test directory, mounts it on a
// loop device and returns the mount point. It is the only kind of
// filesystem a test may freeze: freezing anything the test did not create
// can hang the machine. Cleanup thaws it first (so a failed test never
// leaves it frozen), then unmounts it, which detaches the loop device.
//
// Without Linux, root, loop devices, mkfs.ext4 or mount it skips the test
// with the reason, except under CI=true, where it fails.
func LoopFS(t testing.TB) string {
	t.Helper()
	return LoopFSType(t, "ext4")
}

// LoopFSType is LoopFS with the filesystem type: "ext4" or "xfs"
// (mkfs.xfs, Debian's xfsprogs; XFS images are 320 MiB, sparse, as
// mkfs.xfs refuses less than 300 MiB).
func LoopFSType(t testing.TB, fstype string) string {
	t.Helper()
	need := func(ok bool, why string) {
		t.Helper()
		if ok {
			return
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but cannot freeze for real: %s", why)
		}
		t.Skipf("skipping real freeze: %s", why)
	}
	size := int64(64 << 20)
	if fstype == "xfs" {
		size = 320 << 20
	}
	mnt, cleanup, err := MountLoopFSType(t.TempDir(), fstype, size)
	if err != nil {
		need(false, err.Error())
	}
	t.Cleanup(func() {
		if err := cleanup(); err != nil {
			t.Error(err)
		}
	})
	return mnt
}

// CanMountLoopFS reports why MountLoopFS cannot work here, or "" if it
// can: it needs Linux, root, loop devices, mkfs.ext4, mount and umount.
func CanMountLoopFS() string { return canMountLoopFS("ext4") }

func canMountLoopFS(fstype string) string {
	switch {
	case runtime.GOOS != "linux":
		return "FIFREEZE needs Linux"
	case os.Geteuid() != 0:
		return "needs root to mount a loop device"
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return "no /dev/loop-control"
	}
	for _, tool := range []string{"mkfs." + fstype, "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found"
		}
	}
	return ""
}

// MountLoopFS makes an ext4 image of size bytes in dir, mounts it on
// dir/mnt through a loop device and returns the mount point with its
// cleanup, which thaws it first (so nothing is ever left frozen), then
// unmounts it, which detaches the loop device. The demo uses it too.
func MountLoopFS(dir string, size int64) (string, func() error, error) {
	return MountLoopFSType(dir, "ext4", size)
}

// MountLoopFSType is MountLoopFS with the filesystem type ("ext4" or
// "xfs").
func MountLoopFSType(dir, fstype string, size int64) (string, func() error, error) {
	if why := canMountLoopFS(fstype); why != "" {
		return "", nil, errors.New(why)
	}
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return "", nil, err
	}
	f, err := os.Create(img)
	if err == nil {
		err = f.Truncate(size)
		f.Close()
	}
	if err != nil {
		return "", nil, err
	}
	mkfs := []string{"mkfs.ext4", "-q", "-F", img}
	if fstype == "xfs" {
		mkfs = []string{"mkfs.xfs", "-q", "-f", img}
	}
	if out, err := exec.Command(mkfs[0], mkfs[1:]...).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("%s: %v: %s", mkfs[0], err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("mount -o loop failed: %v: %s", err, out)
	}
	cleanup := func() error {
		ThawFS(mnt)
		for i := 0; ; i++ {
			out, err := exec.Command("umount", mnt).CombinedOutput()
			if err == nil {
				return nil
			}
			if i == 50 {
				return fmt.Errorf("umount %s: %v: %s", mnt, err, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return mnt, cleanup, nil
}

// fiThaw is Linux's FITHAW, _IOWR('X', 120, int) (include/uapi/linux/fs.h).
const fiThaw = 0xC0045878

// ThawFS thaws dir with FITHAW (what fsfreeze -u does), ignoring "not
// frozen". Tests call it before anything that could block on a frozen
// filesystem. It does nothing except on Linux.
func ThawFS(dir string) {
	if runtime.GOOS != "linux" {
		return
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	_ = unix.IoctlSetInt(fd, fiThaw, 0)
	unix.Close(fd)
}
