package vss

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// deviceTransport is /dev/hv_fsvss_dev (sys/dev/hyperv/utilities/
// hv_snapshot.c): one open at a time, poll for POLLIN, IOCHVVSSREAD the
// request, IOCHVVSSWRITE the reply.
type deviceTransport struct {
	fd   int
	path string
}

// pollInterval bounds how long Read waits before looking at ctx again.
const pollInterval = 250 * time.Millisecond

func openDevice(path string) (Transport, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EBUSY) {
		return nil, fmt.Errorf("%w: %s: %s", ErrBusy, path, busyRemedy)
	}
	if err != nil {
		return nil, fmt.Errorf("vss: open %s: %w", path, err)
	}
	return &deviceTransport{fd: fd, path: path}, nil
}

func (d *deviceTransport) Read(ctx context.Context, buf []byte) (int, error) {
	if len(buf) < MsgSize {
		return 0, fmt.Errorf("vss: read buffer of %d bytes", len(buf))
	}
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
			return 0, fmt.Errorf("vss: poll %s: %w", d.path, err)
		}
		if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			return 0, fmt.Errorf("vss: poll %s: revents %#x", d.path, fds[0].Revents)
		}
		if err := d.ioctl(iocHVVSSRead, buf); err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return 0, fmt.Errorf("vss: IOCHVVSSREAD %s: %w", d.path, err)
		}
		return MsgSize, nil
	}
}

func (d *deviceTransport) Write(b []byte) error {
	if len(b) != MsgSize {
		return fmt.Errorf("vss: reply of %d bytes", len(b))
	}
	if err := d.ioctl(iocHVVSSWrite, b); err != nil {
		return fmt.Errorf("vss: IOCHVVSSWRITE %s: %w", d.path, err)
	}
	return nil
}

func (d *deviceTransport) ioctl(req uint32, b []byte) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), uintptr(req), uintptr(unsafe.Pointer(&b[0])))
	if e != 0 {
		return e
	}
	return nil
}

func (d *deviceTransport) Close() error { return unix.Close(d.fd) }
