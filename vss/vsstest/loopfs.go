package vsstest

import (
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
	need(runtime.GOOS == "linux", "FIFREEZE tests run on Linux")
	need(os.Geteuid() == 0, "needs root to mount a loop device")
	_, err := os.Stat("/dev/loop-control")
	need(err == nil, "no /dev/loop-control")
	for _, tool := range []string{"mkfs.ext4", "mount", "umount"} {
		_, err := exec.LookPath(tool)
		need(err == nil, tool+" not found")
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err == nil {
		err = f.Truncate(64 << 20)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	run(t, "mkfs.ext4", "-q", "-F", img)
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		need(false, "mount -o loop failed: "+string(out))
	}
	t.Cleanup(func() {
		ThawFS(mnt)
		for i := 0; ; i++ {
			out, err := exec.Command("umount", mnt).CombinedOutput()
			if err == nil {
				return
			}
			if i == 50 {
				t.Errorf("umount %s: %v: %s", mnt, err, out)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return mnt
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

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
