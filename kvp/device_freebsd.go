package kvp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// deviceTransport is /dev/hv_kvp_dev (sys/dev/hyperv/utilities/hv_kvp.c):
// one open at a time, poll for POLLIN, read and write whole messages.
type deviceTransport struct {
	fd   int
	path string
}

// pollInterval bounds how long Read waits before looking at ctx again.
// The device has no kqueue filter, so Go's poller cannot wait on it.
const pollInterval = 250 * time.Millisecond

func openDevice(path string) (Transport, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if isBusy(err) {
		return nil, fmt.Errorf("%w: %s: %s", ErrBusy, path, busyRemedy)
	}
	if err != nil {
		return nil, fmt.Errorf("kvp: open %s: %w", path, err)
	}
	return &deviceTransport{fd: fd, path: path}, nil
}

func (d *deviceTransport) Read(ctx context.Context, buf []byte) (int, error) {
	fds := []unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN | unix.POLLRDNORM}}
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n, err := unix.Poll(fds, int(pollInterval/time.Millisecond))
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("kvp: poll %s: %w", d.path, err)
		}
		if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			return 0, fmt.Errorf("kvp: poll %s: revents %#x", d.path, fds[0].Revents)
		}
		n, err = unix.Read(d.fd, buf)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("kvp: read %s: %w", d.path, err)
		}
		if n == 0 {
			// Readable but empty: the device is gone, not a short
			// message. Looping here would spin the CPU.
			return 0, fmt.Errorf("kvp: read %s: %w", d.path, io.EOF)
		}
		if n != MsgSize {
			return n, fmt.Errorf("%w: %d bytes", ErrWrongSize, n)
		}
		return n, nil
	}
}

func (d *deviceTransport) Write(b []byte) error {
	n, err := unix.Write(d.fd, b)
	if err != nil {
		return fmt.Errorf("kvp: write %s: %w", d.path, err)
	}
	if n != len(b) {
		// Never retry in a loop: a device that takes part of a message
		// is broken, and the supervisor reopens it.
		return fmt.Errorf("kvp: write %s: short write (%d of %d bytes)", d.path, n, len(b))
	}
	return nil
}

func (d *deviceTransport) Close() error { return unix.Close(d.fd) }
