package kvp

import (
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
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
	for {
		if err := chardev.WaitReadable(ctx, d.fd, pollInterval); err != nil {
			if ctx.Err() != nil {
				return 0, err
			}
			return 0, fmt.Errorf("kvp: %s: %w", d.path, err)
		}
		n, err := unix.Read(d.fd, buf)
		if chardev.Retry(err) {
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
