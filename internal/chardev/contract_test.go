//go:build unix

package chardev

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestContract pins the kernel-facing values this package relies on.
func TestContract(t *testing.T) {
	tests := []struct {
		name      string
		got, want int64
	}{
		// sys/sys/poll.h (FreeBSD) and include/uapi/asm-generic/poll.h
		// (Linux) agree on the bits the wait loop uses.
		{"POLLIN", PollIn, 0x1},
		{"POLLERR", PollErr, 0x8},
		{"POLLHUP", PollHup, 0x10},
		{"POLLNVAL", PollNval, 0x20},
		{"POLLRDNORM", PollRdNorm, 0x40},
		{"POLLIN (x/sys/unix)", unix.POLLIN, PollIn},
		{"POLLERR (x/sys/unix)", unix.POLLERR, PollErr},
		{"POLLHUP (x/sys/unix)", unix.POLLHUP, PollHup},
		{"POLLNVAL (x/sys/unix)", unix.POLLNVAL, PollNval},
		// sys/sys/errno.h, EBUSY: 16 on FreeBSD and Linux; hv_kvp.c's
		// hv_kvp_dev_open and hv_snapshot.c's hv_vss_dev_open return its
		// negation, (-EBUSY).
		{"EBUSY", int64(unix.EBUSY), 16},
		// sys/sys/fcntl.h: O_RDWR 2 on both systems; the daemons open
		// their devices read-write.
		{"O_RDWR", unix.O_RDWR, 2},
		// Linux, include/uapi/asm-generic/errno-base.h (FreeBSD's
		// sys/sys/errno.h agrees): hv_utils_transport.c's hvt_op_read and
		// hvt_op_write return -EBADF once torn down (ErrGone), -EINVAL
		// for a short read buffer; kvp_on_msg and vss_on_msg return
		// -EINVAL for a reply with no transaction (ErrTransactionGone);
		// ENOENT is a node not created yet.
		{"EBADF", int64(unix.EBADF), 9},
		{"EINVAL", int64(unix.EINVAL), 22},
		{"ENOENT", int64(unix.ENOENT), 2},
		// include/uapi/asm-generic/poll.h: POLLOUT, which hvt_op_poll
		// never reports; LinuxDevice never asks for it.
		{"POLLOUT", unix.POLLOUT, 0x4},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	paths := []struct{ name, got, want string }{
		// hv_kvp.c kvp_devname and hv_snapshot.c vss_devname, the misc
		// device names given to hvutil_transport_init, under /dev.
		{"LinuxKVPPath", LinuxKVPPath, "/dev/vmbus/hv_kvp"},
		{"LinuxVSSPath", LinuxVSSPath, "/dev/vmbus/hv_vss"},
	}
	for _, p := range paths {
		if p.got != p.want {
			t.Errorf("%s = %q, want %q", p.name, p.got, p.want)
		}
	}
	neg := uintptr(unix.EBUSY)
	if !IsBusy(unix.Errno(-neg)) {
		t.Error("(-EBUSY) from the drivers' open is not recognised as busy")
	}
}
