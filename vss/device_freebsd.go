package vss

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
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
	for {
		if err := chardev.WaitReadable(ctx, d.fd, pollInterval); err != nil {
			if ctx.Err() != nil {
				return 0, err
			}
			return 0, fmt.Errorf("vss: %s: %w", d.path, err)
		}
		if err := d.ioctl(iocHVVSSRead, buf); err != nil {
			if chardev.Retry(err) {
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
