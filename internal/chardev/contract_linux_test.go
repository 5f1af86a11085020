package chardev

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestContractLinux pins the Linux-only values the Linux device layer
// relies on.
func TestContractLinux(t *testing.T) {
	tests := []struct {
		name      string
		got, want int64
	}{
		// include/uapi/asm-generic/fcntl.h: O_CLOEXEC is 02000000; the
		// device is opened with it so that no child (the freeze helper
		// included) holds it, since hvt_op_open admits one opener.
		{"O_CLOEXEC", unix.O_CLOEXEC, 0o2000000},
		// include/uapi/asm-generic/errno.h and errno-base.h: EAGAIN (11),
		// hvt_op_read's answer when no message is queued after a
		// wake-up; ENODEV and ENXIO count as a node not there.
		{"EAGAIN", int64(unix.EAGAIN), 11},
		{"ENODEV", int64(unix.ENODEV), 19},
		{"ENXIO", int64(unix.ENXIO), 6},
		// include/uapi/linux/inotify.h: the events WatchNode waits for,
		// and inotify_init1's flags (IN_CLOEXEC = O_CLOEXEC,
		// IN_NONBLOCK = O_NONBLOCK).
		{"IN_ATTRIB", unix.IN_ATTRIB, 0x4},
		{"IN_MOVED_TO", unix.IN_MOVED_TO, 0x80},
		{"IN_CREATE", unix.IN_CREATE, 0x100},
		{"IN_CLOEXEC", unix.IN_CLOEXEC, 0o2000000},
		{"IN_NONBLOCK", unix.IN_NONBLOCK, 0o4000},
		{"inotifyEvents", inotifyEvents, 0x4 | 0x80 | 0x100},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}
