//go:build unix

// Package chardev waits on the Hyper-V utility devices (/dev/hv_kvp_dev,
// /dev/hv_fsvss_dev). They have no kqueue filter, so Go's runtime poller
// cannot wait on them: a daemon polls with a timeout and looks at its
// context between polls. kvp and vss share this loop; it is plain unix
// code, tested on Linux with a pipe.
package chardev

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// pollRdNorm is POLLRDNORM, 0x40 on FreeBSD and Linux alike (x/sys/unix
// names it only for some systems).
const pollRdNorm = 0x40

// ErrHangup reports that poll flagged the descriptor with POLLERR,
// POLLHUP or POLLNVAL: the device is gone or broken, not merely idle.
var ErrHangup = errors.New("device hung up")

// WaitReadable blocks until fd is readable or ctx ends, polling every
// interval. It returns ctx's error when ctx ends first.
func WaitReadable(ctx context.Context, fd int, interval time.Duration) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | pollRdNorm}}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := unix.Poll(fds, int(interval/time.Millisecond))
		if errors.Is(err, unix.EINTR) || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		if r := fds[0].Revents; r&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			return fmt.Errorf("%w (revents %#x)", ErrHangup, r)
		}
		return nil
	}
}

// Retry reports whether a read or ioctl error only means "try again".
func Retry(err error) bool {
	return errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN)
}
