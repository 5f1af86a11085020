//go:build unix

package chardev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Linux device nodes. hv_utils_transport.c, hvutil_transport_init,
// registers a misc device under the name the driver passes: kvp_devname
// "vmbus/hv_kvp" (hv_kvp.c) and vss_devname "vmbus/hv_vss"
// (hv_snapshot.c); devtmpfs turns the slash into the /dev/vmbus
// directory, and removes it again once it is empty.
const (
	LinuxKVPPath = "/dev/vmbus/hv_kvp"
	LinuxVSSPath = "/dev/vmbus/hv_vss"
)

// ErrGone reports that the Linux device went away: poll reported
// POLLERR|POLLHUP (hv_utils_transport.c, hvt_op_poll, once
// hvutil_transport_destroy set HVUTIL_TRANSPORT_DESTROY), or read or write
// failed with EBADF for the same reason. The descriptor is already closed
// when it is returned, because the kernel's teardown waits for that
// close; the subsystem opens again, which waits for the node to come back.
var ErrGone = errors.New("device gone")

// ErrTransactionGone reports that the driver refused a reply with EINVAL:
// the request it answered is no longer outstanding (the reply came after
// the driver's deadline, none was outstanding, or the guest resumed from
// hibernation; hv_kvp.c kvp_on_msg, hv_snapshot.c vss_on_msg). The caller
// closes the device, opens it again and registers again, as tools/hv's
// daemons do; a VSS caller thaws first if anything is frozen.
var ErrTransactionGone = errors.New("transaction gone")

// LinuxOptions configure OpenLinux.
type LinuxOptions struct {
	// MsgSize is the largest message the driver hands over, and the
	// smallest buffer Read accepts: hv_kvp.c 7,432 (sizeof(struct
	// hv_kvp_msg)), hv_snapshot.c 12 (sizeof(struct hv_vss_msg)). A read
	// with a smaller buffer fails with EINVAL and leaves the message
	// queued (hvt_op_read).
	MsgSize int
	// PollInterval bounds one poll, i.e. how late Read notices that its
	// context ended and how long Close may wait for a poll under way;
	// 0 means 250 ms.
	PollInterval time.Duration
	// Backoff is the first wait between two looks for a missing node,
	// doubling up to MaxBackoff; a NodeWatcher's watch ends a wait
	// early. 0 means 100 ms and 5 s.
	Backoff, MaxBackoff time.Duration
	// Waiting, if set, is called once when OpenLinux finds the node
	// missing and starts to wait for it, with the open error.
	Waiting func(path string, err error)
}

// NodeWatcher is a Sys that can sleep until a device node may have
// appeared. Kernel implements it on Linux with inotify; a Sys without it
// is looked at again after a bounded backoff.
type NodeWatcher interface {
	// WatchNode starts watching for path's creation: on the parent
	// directory, or on the nearest ancestor that exists when the parent
	// does not (/dev while /dev/vmbus is missing). OpenLinux looks for
	// the node again once the watch is in place, so no creation is
	// missed.
	WatchNode(path string) (NodeWatch, error)
}

// NodeWatch is one watch made by WatchNode.
type NodeWatch interface {
	// Wait returns nil when something changed under the watched
	// directory or limit passed, and ctx's error when ctx ends first.
	Wait(ctx context.Context, limit time.Duration) error
	Close() error
}

// LinuxDevice is an open Linux Hyper-V utility device,
// /dev/vmbus/hv_kvp or /dev/vmbus/hv_vss, spoken as
// drivers/hv/hv_utils_transport.c requires:
//   - the descriptor is raw and close-on-exec, never an os.File;
//   - Read polls, and reads only after poll reported POLLIN: the
//     driver's read ignores O_NONBLOCK and sleeps until a message is
//     queued (hvt_op_read, wait_event_interruptible), where neither the
//     runtime nor Close could reach it;
//   - one read returns one whole message;
//   - POLLERR|POLLHUP or EBADF close the descriptor at once and return
//     ErrGone;
//   - a reply write refused with EINVAL returns ErrTransactionGone.
//
// It implements msgio.Transport. Read and Write may run in different
// goroutines; Close waits for a poll under way (at most PollInterval).
type LinuxDevice struct {
	sys      Sys
	path     string
	msgSize  int
	interval time.Duration

	mu sync.RWMutex // held for reading around each system call on fd
	fd int          // -1 once closed
}

// OpenLinux opens the Linux device at path read-write and close-on-exec,
// waiting for the node while it does not exist or is being torn down
// (ENOENT, ENODEV, ENXIO, and EBADF from hvt_op_open during teardown)
// until ctx ends. A device another process holds returns an error
// wrapping ErrBusy at once (hvt_op_open returns -EBUSY); the caller adds
// the remedy (msgio.LinuxBusyRemedy) and retries later. Registration is
// the subsystem's: it writes its handshake with Write and reads the
// answer with Read.
func OpenLinux(ctx context.Context, sys Sys, path string, opts LinuxOptions) (*LinuxDevice, error) {
	if opts.MsgSize <= 0 {
		return nil, fmt.Errorf("open %s: message size %d", path, opts.MsgSize)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	fd, err := openWhenPresent(ctx, sys, path, opts)
	if err != nil {
		return nil, err
	}
	return &LinuxDevice{sys: sys, path: path, msgSize: opts.MsgSize, interval: opts.PollInterval, fd: fd}, nil
}

// absent tells whether an open error means "the node is not there (yet)".
func absent(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) ||
		errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EBADF)
}

// openWhenPresent opens path, waiting while it is absent. A watch is made
// only once the node is found missing, and the node is looked for again
// once the watch is in place, so that no creation falls between the two.
// Every wake-up renews the watch: one on /dev does not see the node
// appear inside a /dev/vmbus created meanwhile.
func openWhenPresent(ctx context.Context, sys Sys, path string, opts LinuxOptions) (int, error) {
	watcher, _ := sys.(NodeWatcher)
	var watch NodeWatch
	defer func() { closeWatch(watch) }()
	backoff := min(opts.Backoff, opts.MaxBackoff)
	announced := false
	for {
		if err := ctx.Err(); err != nil {
			return -1, err
		}
		fd, err := sys.Open(path, unix.O_RDWR|unix.O_CLOEXEC)
		switch {
		case err == nil:
			return fd, nil
		case IsBusy(err):
			return -1, fmt.Errorf("%w: %s", ErrBusy, path)
		case !absent(err):
			return -1, fmt.Errorf("open %s: %w", path, err)
		}
		if !announced && opts.Waiting != nil {
			opts.Waiting(path, err)
		}
		announced = true
		if watch == nil && watcher != nil {
			// A watch that cannot be made (no inotify instances
			// left) degrades to the backoff alone.
			if watch, _ = watcher.WatchNode(path); watch != nil {
				continue
			}
		}
		if err := waitFor(ctx, watch, backoff); err != nil {
			return -1, err
		}
		closeWatch(watch)
		watch = nil
		backoff = min(2*backoff, opts.MaxBackoff)
	}
}

func closeWatch(w NodeWatch) {
	if w != nil {
		w.Close()
	}
}

// waitFor sleeps for d, or until w reports a change, or until ctx ends.
func waitFor(ctx context.Context, w NodeWatch, d time.Duration) error {
	if w != nil {
		return w.Wait(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Path is the device's path.
func (d *LinuxDevice) Path() string { return d.path }

// Read waits until the driver has a message queued (poll reports POLLIN)
// or ctx ends, then reads the one whole message into buf, which must hold
// at least MsgSize bytes. It returns ctx's error when ctx ends first, an
// error wrapping ErrGone when the device went away (the descriptor is
// then closed), and an error for anything else the driver refuses.
func (d *LinuxDevice) Read(ctx context.Context, buf []byte) (int, error) {
	if len(buf) < d.msgSize {
		return 0, fmt.Errorf("read %s: buffer of %d bytes for messages of up to %d", d.path, len(buf), d.msgSize)
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n, again, err := d.readOnce(buf)
		if again {
			continue
		}
		if errors.Is(err, ErrGone) {
			d.Close()
		}
		return n, err
	}
}

// readOnce polls once for up to the interval and reads if poll reported
// POLLIN; again means nothing was read and Read should look again.
func (d *LinuxDevice) readOnce(buf []byte) (n int, again bool, err error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.fd < 0 {
		return 0, false, fmt.Errorf("read %s: %w", d.path, os.ErrClosed)
	}
	r, err := d.sys.Poll(d.fd, PollIn|PollRdNorm, d.interval)
	switch {
	case errors.Is(err, unix.EINTR) || (err == nil && r == 0):
		return 0, true, nil
	case err != nil:
		return 0, false, fmt.Errorf("poll %s: %w", d.path, err)
	case r&(PollErr|PollHup|PollNval) != 0:
		return 0, false, fmt.Errorf("%s: %w (revents %#x)", d.path, ErrGone, r)
	case r&(PollIn|PollRdNorm) == 0:
		return 0, true, nil
	}
	// POLLIN: a message is queued, so the read cannot sleep.
	n, err = d.sys.Read(d.fd, buf)
	switch {
	case Retry(err):
		return 0, true, nil // hvt_op_read: EAGAIN when the queue emptied; EINTR
	case errors.Is(err, unix.EBADF):
		return 0, false, fmt.Errorf("read %s: %w: %w", d.path, ErrGone, err)
	case errors.Is(err, unix.EINVAL):
		return 0, false, fmt.Errorf("read %s: message larger than %d bytes: %w", d.path, len(buf), err)
	case err != nil:
		return 0, false, fmt.Errorf("read %s: %w", d.path, err)
	}
	return n, false, nil
}

// Write writes b, one whole message, in one write(2). EINVAL returns an
// error wrapping ErrTransactionGone; EBADF closes the descriptor and
// returns an error wrapping ErrGone.
func (d *LinuxDevice) Write(b []byte) error {
	err := d.write(b)
	if errors.Is(err, ErrGone) {
		d.Close()
	}
	return err
}

func (d *LinuxDevice) write(b []byte) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.fd < 0 {
		return fmt.Errorf("write %s: %w", d.path, os.ErrClosed)
	}
	n, err := d.sys.Write(d.fd, b)
	switch {
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("write %s: %w: %w", d.path, ErrTransactionGone, err)
	case errors.Is(err, unix.EBADF):
		return fmt.Errorf("write %s: %w: %w", d.path, ErrGone, err)
	case err != nil:
		return fmt.Errorf("write %s: %w", d.path, err)
	case n != len(b):
		// hvt_op_write takes all or nothing; never retry a part.
		return fmt.Errorf("write %s: short write (%d of %d bytes)", d.path, n, len(b))
	}
	return nil
}

// Close closes the descriptor, which un-registers the daemon
// (hvt_op_release). Closing again is a no-op.
func (d *LinuxDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return nil
	}
	fd := d.fd
	d.fd = -1
	return d.sys.Close(fd)
}
