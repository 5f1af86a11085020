//go:build unix

package vss

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hvagent/hvagent/internal/chardev"
)

// deviceTransport is FreeBSD's /dev/hv_fsvss_dev
// (sys/dev/hyperv/utilities/hv_snapshot.c): poll for POLLIN (a request
// waits in the driver's notify queue), IOCHVVSSREAD it, IOCHVVSSWRITE
// the reply with the request's msgid.
//
// IOCHVVSSREAD is _IOR, so the kernel zero-fills the buffer before the
// driver sees it: a request that timed out between the poll and the
// ioctl reads as opt 0, status 1 (hv_vss_daemon_notified finds the queue
// empty), msgid 0. Such a read owes no reply.
type deviceTransport struct {
	dev *chardev.Device
}

// pollInterval bounds how long Read waits before looking at ctx again.
const pollInterval = 250 * time.Millisecond

// openDevice opens the VSS device through sys; opening registers.
func openDevice(sys chardev.Sys, path string) (Transport, error) {
	dev, err := chardev.Open(sys, path)
	if errors.Is(err, chardev.ErrBusy) {
		return nil, fmt.Errorf("%w: %s: %s", ErrBusy, path, busyRemedy)
	}
	if err != nil {
		return nil, fmt.Errorf("vss: %w", err)
	}
	return &deviceTransport{dev: dev}, nil
}

// OpenVia opens the VSS device at path through sys, as Open does for
// the kernel's device. Tests pass a model of FreeBSD's driver
// (vsstest.Device), so this file's logic runs under go test on Linux.
func OpenVia(sys chardev.Sys, path string) (Transport, error) { return openDevice(sys, path) }

func (d *deviceTransport) Read(ctx context.Context, buf []byte) (int, error) {
	if len(buf) < MsgSize {
		return 0, fmt.Errorf("vss: read buffer of %d bytes", len(buf))
	}
	for {
		if err := d.dev.Wait(ctx, pollInterval); err != nil {
			if ctx.Err() != nil {
				return 0, err
			}
			return 0, fmt.Errorf("vss: %w", err)
		}
		if err := d.dev.Ioctl(uint(iocHVVSSRead), buf[:MsgSize]); err != nil {
			if chardev.Retry(err) {
				continue
			}
			return 0, fmt.Errorf("vss: IOCHVVSSREAD %s: %w", d.dev.Path(), err)
		}
		return MsgSize, nil
	}
}

func (d *deviceTransport) Write(b []byte) error {
	if len(b) != MsgSize {
		return fmt.Errorf("vss: reply of %d bytes", len(b))
	}
	if err := d.dev.Ioctl(uint(iocHVVSSWrite), b); err != nil {
		return fmt.Errorf("vss: IOCHVVSSWRITE %s: %w", d.dev.Path(), err)
	}
	return nil
}

func (d *deviceTransport) Close() error { return d.dev.Close() }
