//go:build unix

package kvp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
)

// deviceTransport is FreeBSD's /dev/hv_kvp_dev
// (sys/dev/hyperv/utilities/hv_kvp.c), spoken as the base daemon does
// (contrib/hyperv/tools/hv_kvp_daemon.c): REGISTER with write(2), then for
// each request poll for POLLIN, pread exactly MsgSize bytes at offset 0 and
// pwrite the reply at offset 0.
//
// Offset 0 matters: hv_kvp_dev_daemon_read returns
// MIN(resid, BUFFERSIZE + 1 - uio_offset) bytes, and the REGISTER write
// leaves the file offset at MsgSize, so a plain read(2) returns one byte.
// A read the kernel delivered must be answered before the next one:
// hv_kvp_dev_daemon_read sleeps in sema_wait, uninterruptibly, and no new
// request is posted while daemon_busy is set, so a second read without a
// reply in between never returns and the process cannot be killed.
type deviceTransport struct {
	dev  *chardev.Device
	owed bool // a request was read and its reply not yet written
}

// pollInterval bounds how long Read waits before looking at ctx again.
const pollInterval = 250 * time.Millisecond

// errReplyOwed reports a Read before the previous request's reply: the
// driver would sleep forever, so the transport refuses.
var errReplyOwed = errors.New("kvp: read while a reply is owed (it would wedge the driver)")

// openDevice opens the KVP device through sys.
func openDevice(sys chardev.Sys, path string) (Transport, error) {
	dev, err := chardev.Open(sys, path)
	if errors.Is(err, chardev.ErrBusy) {
		return nil, fmt.Errorf("%w: %s: %s", ErrBusy, path, busyRemedy)
	}
	if err != nil {
		return nil, fmt.Errorf("kvp: %w", err)
	}
	return &deviceTransport{dev: dev}, nil
}

// Register writes the REGISTER message with write(2), as the base daemon
// does; hv_kvp_dev_daemon_write ignores the offset.
func (d *deviceTransport) Register(b []byte) error {
	return d.write(b, false)
}

// Read waits for a request and preads it at offset 0. Whatever it returns
// other than a context or device error (a short read, ErrWrongSize), the
// caller owes the kernel a reply.
func (d *deviceTransport) Read(ctx context.Context, buf []byte) (int, error) {
	if d.owed {
		return 0, errReplyOwed
	}
	if len(buf) < MsgSize {
		return 0, fmt.Errorf("kvp: read buffer of %d bytes", len(buf))
	}
	if err := d.dev.Wait(ctx, pollInterval); err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, fmt.Errorf("kvp: %w", err)
	}
	// POLLIN means daemon_busy: a request is posted and the read will
	// not sleep. From here the kernel counts it delivered.
	n, err := d.dev.Pread(buf[:MsgSize], 0)
	if err != nil {
		// The driver's read fails before taking the request only when
		// the daemon is not registered (KVP_ERROR); reopen.
		return 0, fmt.Errorf("kvp: pread %s: %w", d.dev.Path(), err)
	}
	d.owed = true
	if n != MsgSize {
		return n, fmt.Errorf("%w: %d bytes", ErrWrongSize, n)
	}
	return n, nil
}

// Write pwrites the reply at offset 0. An EINVAL from the driver (an
// operation it does not convert back) means the host already has its
// answer: ErrReplyRefused, not a reason to reopen.
func (d *deviceTransport) Write(b []byte) error {
	return d.write(b, true)
}

func (d *deviceTransport) write(b []byte, positional bool) error {
	var n int
	var err error
	if positional {
		n, err = d.dev.Pwrite(b, 0)
	} else {
		n, err = d.dev.Write(b)
	}
	if err == nil || errors.Is(err, unix.EINVAL) {
		d.owed = false // the driver cleared daemon_busy either way
	}
	switch {
	case errors.Is(err, unix.EINVAL) && positional:
		return fmt.Errorf("%w: %s: %w", ErrReplyRefused, d.dev.Path(), err)
	case err != nil:
		return fmt.Errorf("kvp: write %s: %w", d.dev.Path(), err)
	case n != len(b):
		// Never retry in a loop: a device that takes part of a message
		// is broken, and the supervisor reopens it.
		return fmt.Errorf("kvp: write %s: short write (%d of %d bytes)", d.dev.Path(), n, len(b))
	}
	return nil
}

func (d *deviceTransport) Close() error { return d.dev.Close() }

// OpenVia opens the KVP device at path through sys and registers, as Open
// does for the kernel's device. Tests pass a model of FreeBSD's driver
// (kvptest.Device), so this file's logic runs under go test on Linux.
func OpenVia(sys chardev.Sys, path, version string) (Transport, error) {
	t, err := openDevice(sys, path)
	if err != nil {
		return nil, err
	}
	return register(context.Background(), FreeBSD, t, path, version)
}
