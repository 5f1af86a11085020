package chardev

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// inotifyEvents are the events that can announce a device node or one of
// its missing parent directories (include/uapi/linux/inotify.h): devtmpfs
// creates the node (IN_CREATE), and udev may rename or re-create it
// (IN_MOVED_TO) and set its mode afterwards (IN_ATTRIB).
const inotifyEvents = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_ATTRIB

// WatchNode watches the nearest existing ancestor directory of path with
// inotify: /dev/vmbus, or /dev while /dev/vmbus does not exist yet.
func (kernelSys) WatchNode(path string) (NodeWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	dir := filepath.Dir(filepath.Clean(path))
	for {
		_, err = unix.InotifyAddWatch(fd, dir, inotifyEvents)
		if err == nil {
			return &inotifyWatch{fd: fd}, nil
		}
		parent := filepath.Dir(dir)
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) || parent == dir {
			unix.Close(fd)
			return nil, os.NewSyscallError("inotify_add_watch "+dir, err)
		}
		dir = parent
	}
}

// inotifyWatch is a watch by WatchNode: one inotify descriptor.
type inotifyWatch struct{ fd int }

// Wait polls the inotify descriptor in slices short enough to notice ctx.
func (w *inotifyWatch) Wait(ctx context.Context, limit time.Duration) error {
	const slice = 250 * time.Millisecond
	deadline := time.Now().Add(limit)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(min(left, slice).Milliseconds())+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return os.NewSyscallError("poll inotify", err)
		}
		if n > 0 {
			w.drain()
			return nil
		}
	}
}

// drain reads the queued events; what changed does not matter, only that
// something did.
func (w *inotifyWatch) drain() {
	var buf [4096]byte
	for {
		if n, err := unix.Read(w.fd, buf[:]); n <= 0 || err != nil {
			return
		}
	}
}

func (w *inotifyWatch) Close() error { return unix.Close(w.fd) }
