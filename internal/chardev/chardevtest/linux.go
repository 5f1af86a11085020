//go:build unix

package chardevtest

import (
	"context"
	"errors"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
)

// DefaultLinuxTimeout is how long the Linux drivers wait for a reply:
// HV_UTIL_TIMEOUT, 30 s (drivers/hv/hyperv_vmbus.h), for every KVP
// request and for VSS THAW and HOT_BACKUP; VSS FREEZE waits
// VSS_FREEZE_TIMEOUT, 900 s (hv_snapshot.c).
const DefaultLinuxTimeout = 30 * time.Second

// Errors a host request on a LinuxDevice ends with instead of a reply.
var (
	// ErrTimeout: no reply before the deadline; the host got HV_E_FAIL
	// (kvp_timeout_func, vss_timeout_func).
	ErrTimeout = errors.New("chardevtest: no reply before the deadline")
	// ErrReset: the daemon closed the device with the request
	// outstanding; the host got HV_E_FAIL (hvt_reset's on_reset:
	// kvp_on_reset, vss_on_reset).
	ErrReset = errors.New("chardevtest: daemon closed the device with the request outstanding")
	// ErrNotDelivered: the previous message was still unread, so
	// hvutil_transport_send refused this one (-EFAULT) and the host got
	// HV_E_FAIL.
	ErrNotDelivered = errors.New("chardevtest: previous message still unread")
	// ErrTornDown: the device was torn down with the request outstanding.
	ErrTornDown = errors.New("chardevtest: device torn down")
	// ErrEnded: the model ended.
	ErrEnded = errors.New("chardevtest: model ended")
)

// hvutil_transport modes (drivers/hv/hv_utils_transport.h, enum
// hvutil_transport_mode); netlink is not modelled.
type transportMode int

const (
	modeInit    transportMode = iota // HVUTIL_TRANSPORT_INIT: no opener
	modeChardev                      // HVUTIL_TRANSPORT_CHARDEV: open
	modeDestroy                      // HVUTIL_TRANSPORT_DESTROY: tearing down
)

// LinuxOptions configure a LinuxDevice.
type LinuxOptions struct {
	// Path is the node, e.g. chardev.LinuxKVPPath.
	Path string
	// MsgSize is the size of the driver's messages: 7,432 for hv_kvp.c
	// (sizeof(struct hv_kvp_msg)), 12 for hv_snapshot.c (sizeof(struct
	// hv_vss_msg)). A write shorter than MsgSize fails with EINVAL
	// (kvp_on_msg: len < sizeof(*message)).
	MsgSize int
	// ExactSize makes every write other than MsgSize bytes fail with
	// EINVAL, as vss_on_msg does (len != sizeof(*vss_msg)).
	ExactSize bool
	// Timeout is the reply deadline of a request that names none; 0
	// means DefaultLinuxTimeout.
	Timeout time.Duration
	// Present creates the node at once; otherwise it appears at Appear,
	// as when the host opens the integration service's channel late.
	Present bool
	// Handshake is the driver's answer to the daemon's first write after
	// an open (kvp_handle_handshake, vss_handle_handshake): an answer to
	// queue for the daemon (nil: none), or the write's errno. Host
	// requests are posted only after the answer was read. Nil accepts
	// any first message and answers nothing.
	Handshake func(msg []byte) (answer []byte, err error)
}

// LinuxStats counts what a LinuxDevice saw.
type LinuxStats struct {
	Opens         int // successful opens
	OpenFlags     int // the flags of the last open
	Refused       int // opens refused with EBUSY
	Registrations int // handshakes accepted
	Requests      int // requests posted to the daemon
	Replies       int // replies taken
	RefusedWrites int // writes refused with EINVAL (late, spurious, wrong size)
	Timeouts      int // requests failed for want of a reply in time
	SleptReads    int // reads that found no message queued and slept
	SmallReads    int // reads refused with EINVAL for a short buffer
	Teardowns     int // completed teardowns
	Watches       int // node watches made through the Sys
}

// LinuxDevice is a model of one Linux Hyper-V utility device,
// drivers/hv/hv_utils_transport.c in character-device mode with the
// driver above it reduced to its transaction rules (hv_kvp.c,
// hv_snapshot.c), under the system calls: Sys returns a chardev.Sys (and
// chardev.NodeWatcher) for Path, and a test drives the host side with
// Appear, Request and Teardown. It reproduces:
//   - the node exists only between Appear and Teardown;
//   - hvt_op_open: one opener (a second open fails with EBUSY), EBADF
//     while torn down;
//   - hvt_op_read: ignores O_NONBLOCK and sleeps until a message is
//     queued (SleepingReads, LinuxStats.SleptReads); EINVAL for a buffer
//     smaller than the message, which stays queued; one whole message per
//     read; EBADF once torn down; the file offset is ignored;
//   - hvt_op_poll: POLLIN|POLLRDNORM only while a message is queued,
//     never POLLOUT, POLLERR|POLLHUP once torn down;
//   - hvt_op_write and on_msg: the first write after an open is the
//     handshake; a reply with no request outstanding, after the
//     request's deadline, or of the wrong size fails with EINVAL; a late
//     reply written after the next request was posted answers that one;
//     EBADF once torn down;
//   - hvt_op_release: closing un-registers and fails an outstanding
//     request (ErrReset);
//   - hvutil_transport_destroy: teardown waits for the opener's close,
//     then the node disappears.
//
// Close ends the model: sleeping reads and waiting requests return, which
// the real driver never does.
type LinuxDevice struct {
	Model // the lock (Mu), wake-ups, the end

	opts       LinuxOptions
	present    bool
	mode       transportMode
	fd, nextFD int
	shaken     bool // the handshake message was written since the open
	registered bool // its answer was read: requests may be posted
	outmsg     []byte
	answer     bool // outmsg is the handshake's answer
	txn        *transaction
	released   chan struct{} // closed by the release that ends a teardown
	sleeping   int
	stats      LinuxStats
}

// transaction is one host request waiting for its reply.
type transaction struct {
	reply chan []byte
	err   error // why it ended without a reply; set with Mu held
	done  chan struct{}
}

// NewLinuxDevice returns a LinuxDevice with no opener.
func NewLinuxDevice(opts LinuxOptions) *LinuxDevice {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultLinuxTimeout
	}
	d := &LinuxDevice{opts: opts, present: opts.Present, fd: -1, nextFD: 3}
	d.Init(opts.Path)
	return d
}

// Sys returns the system calls of a process on this device, for
// chardev.OpenLinux; it is also a chardev.NodeWatcher.
func (d *LinuxDevice) Sys() chardev.Sys { return linuxSys{d} }

// Close ends the model.
func (d *LinuxDevice) Close() error {
	d.End()
	return nil
}

// Appear creates the node, as hvutil_transport_init's misc_register when
// the host opens the integration service's channel. No-op if present.
func (d *LinuxDevice) Appear() {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if !d.present {
		d.present, d.mode = true, modeInit
		d.Notify()
	}
}

// Teardown is hvutil_transport_destroy: the device turns to
// POLLERR|POLLHUP and EBADF, an outstanding request fails, and if a
// process holds the device Teardown waits for its close (or for ctx or
// the model's end); then the node disappears. It returns ctx's error if
// ctx ended first, leaving the node in its torn-down state.
func (d *LinuxDevice) Teardown(ctx context.Context) error {
	d.Mu.Lock()
	if !d.present {
		d.Mu.Unlock()
		return nil
	}
	d.mode = modeDestroy
	d.endTxn(ErrTornDown)
	released := make(chan struct{})
	if d.fd >= 0 {
		d.released = released
	} else {
		close(released)
	}
	d.Notify()
	d.Mu.Unlock()
	select {
	case <-released:
	case <-d.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	d.Mu.Lock()
	defer d.Mu.Unlock()
	d.present, d.mode = false, modeInit
	d.resetLocked()
	d.stats.Teardowns++
	d.Notify()
	return nil
}

// Request posts msg to the daemon once one is registered and the
// previous transaction has ended, and returns the daemon's reply. timeout
// is the driver's deadline from the post (0: the options' Timeout).
func (d *LinuxDevice) Request(ctx context.Context, msg []byte, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		timeout = d.opts.Timeout
	}
	t, err := d.post(ctx, msg)
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-t.reply:
		return r, nil
	case <-t.done:
		return nil, t.err
	case <-timer.C:
		return d.expire(t, ErrTimeout)
	case <-ctx.Done():
		return d.expire(t, ctx.Err())
	}
}

// post waits until a request may be posted and queues msg.
func (d *LinuxDevice) post(ctx context.Context, msg []byte) (*transaction, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	for !d.registered || d.txn != nil || d.mode != modeChardev {
		if d.Ended() {
			return nil, ErrEnded
		}
		ch := d.Changed()
		d.Mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		d.Mu.Lock()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if d.outmsg != nil {
		// hvutil_transport_send: "Previous message wasn't received".
		return nil, ErrNotDelivered
	}
	t := &transaction{reply: make(chan []byte, 1), done: make(chan struct{})}
	d.txn, d.outmsg, d.answer = t, slices.Clone(msg), false
	d.stats.Requests++
	d.Notify()
	return t, nil
}

// expire ends t without a reply, unless the reply came first. A queued,
// unread message stays queued, as in the driver: the daemon may still
// read it, and its reply then fails with EINVAL.
func (d *LinuxDevice) expire(t *transaction, err error) ([]byte, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	select {
	case r := <-t.reply:
		return r, nil
	default:
	}
	if d.txn == t {
		d.endTxn(err)
		if errors.Is(err, ErrTimeout) {
			d.stats.Timeouts++
		}
	}
	return nil, t.err
}

// endTxn ends the outstanding transaction with err. Mu is held.
func (d *LinuxDevice) endTxn(err error) {
	if d.txn != nil {
		d.txn.err = err
		close(d.txn.done)
		d.txn = nil
		d.Notify()
	}
}

// resetLocked is hvt_reset with the drivers' on_reset: the queued message
// is dropped and the daemon is no longer registered. Mu is held.
func (d *LinuxDevice) resetLocked() {
	d.outmsg, d.answer = nil, false
	d.shaken, d.registered = false, false
	d.endTxn(ErrReset)
}

// Present reports whether the node exists.
func (d *LinuxDevice) Present() bool {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.present
}

// Registered reports whether a daemon has the device open and has read
// the handshake's answer.
func (d *LinuxDevice) Registered() bool {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.registered
}

// WaitRegistered waits until a daemon is registered or ctx ends.
func (d *LinuxDevice) WaitRegistered(ctx context.Context) error {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	for !d.registered {
		if d.Ended() {
			return ErrEnded
		}
		ch := d.Changed()
		d.Mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		d.Mu.Lock()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// SleepingReads reports how many reads sleep in the driver for want of a
// message: on the real driver only a signal or a message wakes them.
func (d *LinuxDevice) SleepingReads() int {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.sleeping
}

// IsOpen reports whether a process holds the device.
func (d *LinuxDevice) IsOpen() bool {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.fd >= 0
}

// Stats returns a snapshot of the counters.
func (d *LinuxDevice) Stats() LinuxStats {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.stats
}

// linuxSys is the device's file_operations as seen through the system
// calls.
type linuxSys struct{ d *LinuxDevice }

func (s linuxSys) Open(path string, flags int) (int, error)         { return s.d.sysOpen(path, flags) }
func (s linuxSys) Close(fd int) error                               { return s.d.sysClose(fd) }
func (s linuxSys) Read(fd int, p []byte) (int, error)               { return s.d.sysRead(fd, p) }
func (s linuxSys) Write(fd int, p []byte) (int, error)              { return s.d.sysWrite(fd, p) }
func (s linuxSys) Pread(fd int, p []byte, _ int64) (int, error)     { return s.d.sysRead(fd, p) }
func (s linuxSys) Pwrite(fd int, p []byte, _ int64) (int, error)    { return s.d.sysWrite(fd, p) }
func (s linuxSys) Ioctl(fd int, _ uint, _ []byte) error             { return s.d.sysIoctl(fd) }
func (s linuxSys) WatchNode(path string) (chardev.NodeWatch, error) { return s.d.watch(), nil }
func (s linuxSys) Poll(fd int, events int16, timeout time.Duration) (int16, error) {
	return s.d.sysPoll(fd, events, timeout)
}

// sysOpen is hvt_op_open behind the node's lookup.
func (d *LinuxDevice) sysOpen(path string, flags int) (int, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	switch {
	case d.Ended():
		return -1, unix.ENXIO
	case path != d.Path() || !d.present:
		return -1, unix.ENOENT
	case d.mode == modeDestroy:
		return -1, unix.EBADF
	case d.mode == modeChardev:
		d.stats.Refused++
		return -1, unix.EBUSY
	}
	d.mode = modeChardev
	d.fd, d.nextFD = d.nextFD, d.nextFD+1
	d.stats.Opens++
	d.stats.OpenFlags = flags
	d.Notify()
	return d.fd, nil
}

// sysClose is hvt_op_release.
func (d *LinuxDevice) sysClose(fd int) error {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if fd < 0 || fd != d.fd {
		return unix.EBADF
	}
	d.fd = -1
	if d.mode == modeDestroy {
		if d.released != nil {
			close(d.released)
			d.released = nil
		}
	} else {
		d.mode = modeInit
	}
	d.resetLocked()
	d.Notify()
	return nil
}

// check validates fd for a call. Mu is held.
func (d *LinuxDevice) check(fd int) error {
	switch {
	case d.Ended():
		return unix.EIO
	case fd < 0 || fd != d.fd:
		return unix.EBADF
	}
	return nil
}

// sysRead is hvt_op_read.
func (d *LinuxDevice) sysRead(fd int, p []byte) (int, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if err := d.check(fd); err != nil {
		return 0, err
	}
	if d.outmsg == nil && d.mode == modeChardev {
		// wait_event_interruptible: O_NONBLOCK is not looked at.
		d.stats.SleptReads++
		d.sleeping++
		for d.outmsg == nil && d.mode == modeChardev && !d.Ended() {
			ch := d.Changed()
			d.Mu.Unlock()
			<-ch
			d.Mu.Lock()
		}
		d.sleeping--
	}
	switch {
	case d.Ended():
		return 0, unix.EIO
	case d.mode == modeDestroy:
		return 0, unix.EBADF
	case d.outmsg == nil:
		return 0, unix.EAGAIN
	case len(p) < len(d.outmsg):
		d.stats.SmallReads++
		return 0, unix.EINVAL
	}
	n := copy(p, d.outmsg)
	if d.answer {
		d.registered = true
		d.stats.Registrations++
	}
	d.outmsg, d.answer = nil, false
	d.Notify()
	return n, nil
}

// sysWrite is hvt_op_write and the driver's on_msg.
func (d *LinuxDevice) sysWrite(fd int, p []byte) (int, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if err := d.check(fd); err != nil {
		return 0, err
	}
	if d.mode == modeDestroy {
		return 0, unix.EBADF
	}
	if len(p) < d.opts.MsgSize || d.opts.ExactSize && len(p) != d.opts.MsgSize {
		d.stats.RefusedWrites++
		return 0, unix.EINVAL
	}
	if !d.shaken {
		return d.handshake(p)
	}
	if d.txn == nil {
		// "We didn't send anything to userspace so the reply is
		// spurious", or the deadline passed (kvp_on_msg, vss_on_msg).
		d.stats.RefusedWrites++
		return 0, unix.EINVAL
	}
	d.txn.reply <- slices.Clone(p)
	d.txn = nil
	d.stats.Replies++
	d.Notify()
	return len(p), nil
}

// handshake takes the first message after an open. Mu is held.
func (d *LinuxDevice) handshake(p []byte) (int, error) {
	var answer []byte
	if d.opts.Handshake != nil {
		var err error
		if answer, err = d.opts.Handshake(slices.Clone(p)); err != nil {
			return 0, err
		}
	}
	d.shaken = true
	if answer == nil {
		d.registered = true
		d.stats.Registrations++
	} else {
		d.outmsg, d.answer = slices.Clone(answer), true
	}
	d.Notify()
	return len(p), nil
}

// sysPoll is hvt_op_poll, waiting up to timeout as poll(2) does.
func (d *LinuxDevice) sysPoll(fd int, events int16, timeout time.Duration) (int16, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	d.Mu.Lock()
	defer d.Mu.Unlock()
	for {
		if err := d.check(fd); err != nil {
			return chardev.PollNval, nil
		}
		if d.mode == modeDestroy {
			return chardev.PollErr | chardev.PollHup, nil
		}
		if d.outmsg != nil {
			if r := events & (chardev.PollIn | chardev.PollRdNorm); r != 0 {
				return r, nil
			}
		}
		ch := d.Changed()
		d.Mu.Unlock()
		select {
		case <-ch:
			d.Mu.Lock()
		case <-timer.C:
			d.Mu.Lock()
			return 0, nil
		}
	}
}

// sysIoctl: hv_utils_transport's file_operations have no ioctl, so the
// VFS answers ENOTTY.
func (d *LinuxDevice) sysIoctl(fd int) error {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if err := d.check(fd); err != nil {
		return err
	}
	return unix.ENOTTY
}

// watch is a chardev.NodeWatch that wakes at the model's next change.
func (d *LinuxDevice) watch() chardev.NodeWatch {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	d.stats.Watches++
	return &modelWatch{changed: d.Changed(), done: d.Done()}
}

type modelWatch struct{ changed, done <-chan struct{} }

func (w *modelWatch) Wait(ctx context.Context, limit time.Duration) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-w.changed:
	case <-w.done:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (w *modelWatch) Close() error { return nil }
