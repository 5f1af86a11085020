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
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	neg := uintptr(unix.EBUSY)
	if !IsBusy(unix.Errno(-neg)) {
		t.Error("(-EBUSY) from the drivers' open is not recognised as busy")
	}
}
