//go:build unix

package chardev

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Poll event bits, the same on FreeBSD (sys/sys/poll.h) and Linux
// (include/uapi/asm-generic/poll.h). POLLRDNORM is 0x40 on both; x/sys/unix
// names it only for some systems.
const (
	PollIn     = 0x1  // POLLIN
	PollErr    = 0x8  // POLLERR
	PollHup    = 0x10 // POLLHUP
	PollNval   = 0x20 // POLLNVAL
	PollRdNorm = 0x40 // POLLRDNORM
)

// Sys is the system-call layer under a device: Kernel in production, a
// model of a driver in tests. Errors are unix.Errno values, as the kernel
// returns them.
type Sys interface {
	Open(path string, flags int) (fd int, err error)
	Close(fd int) error
	// Poll waits up to timeout for events on fd and returns the revents
	// (0 when the timeout passed).
	Poll(fd int, events int16, timeout time.Duration) (revents int16, err error)
	Read(fd int, p []byte) (int, error)
	Pread(fd int, p []byte, off int64) (int, error)
	Write(fd int, p []byte) (int, error)
	Pwrite(fd int, p []byte, off int64) (int, error)
	// Ioctl passes arg's memory to the driver: req encodes its size and
	// direction (_IOR, _IOW).
	Ioctl(fd int, req uint, arg []byte) error
}

// ErrHangup reports that poll flagged the descriptor with POLLERR,
// POLLHUP or POLLNVAL: the device is gone or broken, not merely idle.
var ErrHangup = errors.New("device hung up")

// ErrBusy reports that another process holds the device.
var ErrBusy = errors.New("device busy")

// IsBusy tells whether an open(2) error means another process holds the
// device. FreeBSD's hv_kvp_dev_open returns (-EBUSY)
// (sys/dev/hyperv/utilities/hv_kvp.c), which reaches userland as the
// errno -16, so the negated value counts too: as a full register and, in
// case the kernel truncates it, as its low 32 bits. hv_vss_dev_open
// (hv_snapshot.c) returns (-EBUSY) the same way; a plain EBUSY counts too.
func IsBusy(err error) bool {
	var e unix.Errno
	if !errors.As(err, &e) {
		return false
	}
	neg := -int64(unix.EBUSY)
	return e == unix.EBUSY || uintptr(e) == uintptr(neg) || uint64(e) == uint64(uint32(int32(neg)))
}

// Retry reports whether a read or ioctl error only means "try again".
func Retry(err error) bool {
	return errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN)
}

// Device is one open character device.
type Device struct {
	sys  Sys
	fd   int
	path string
}

// Open opens path read-write and close-on-exec (a child, the freezer
// included, must never inherit it: a restarted agent would find the device
// busy). A busy device returns an error wrapping ErrBusy.
func Open(sys Sys, path string) (*Device, error) {
	fd, err := sys.Open(path, unix.O_RDWR|unix.O_CLOEXEC)
	if IsBusy(err) {
		return nil, fmt.Errorf("%w: %s", ErrBusy, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Device{sys: sys, fd: fd, path: path}, nil
}

// Path is the device's path.
func (d *Device) Path() string { return d.path }

// Wait blocks until the device reports POLLIN or ctx ends, polling every
// interval. It returns ctx's error when ctx ends first and an error
// wrapping ErrHangup when the device is gone.
func (d *Device) Wait(ctx context.Context, interval time.Duration) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := d.sys.Poll(d.fd, PollIn|PollRdNorm, interval)
		if errors.Is(err, unix.EINTR) || (err == nil && r == 0) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll %s: %w", d.path, err)
		}
		if r&(PollErr|PollHup|PollNval) != 0 {
			return fmt.Errorf("%s: %w (revents %#x)", d.path, ErrHangup, r)
		}
		return nil
	}
}

// Pread reads into p at offset off, retrying EINTR.
func (d *Device) Pread(p []byte, off int64) (int, error) {
	for {
		n, err := d.sys.Pread(d.fd, p, off)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return n, err
	}
}

// Pwrite writes p at offset off.
func (d *Device) Pwrite(p []byte, off int64) (int, error) { return d.sys.Pwrite(d.fd, p, off) }

// Write writes p at the file offset.
func (d *Device) Write(p []byte) (int, error) { return d.sys.Write(d.fd, p) }

// Ioctl issues req with arg.
func (d *Device) Ioctl(req uint, arg []byte) error { return d.sys.Ioctl(d.fd, req, arg) }

// Close closes the descriptor, which unregisters the daemon.
func (d *Device) Close() error { return d.sys.Close(d.fd) }
