//go:build unix

package kvptest

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/internal/chardev/chardevtest"
	"github.com/hvagent/hvagent/kvp"
)

// DevicePath is where FreeBSD's hv_kvp driver creates its node
// (sys/dev/hyperv/utilities/hv_kvp.c, hv_kvp_attach: make_dev_p "hv_kvp_dev").
const DevicePath = "/dev/hv_kvp_dev"

// kvpError is hv_kvp.c's KVP_ERROR (1), returned as an errno by the
// driver's read and write before registration: EPERM.
const kvpError = unix.Errno(1)

// Device is a model of FreeBSD's /dev/hv_kvp_dev under the device
// transport's system calls: Sys returns a chardev.Sys for DevicePath, so
// kvp.OpenVia runs the real device code against it. A Host drives it as
// it drives a Kernel.
//
// It reproduces what decides whether a daemon works on the real driver
// (sys/dev/hyperv/utilities/hv_kvp.c):
//   - hv_kvp_dev_open: a second open fails with -EBUSY;
//   - hv_kvp_dev_daemon_write: the first write must be REGISTER (else
//     KVP_ERROR); every write resets uio_offset to 0, so write(2) leaves
//     the file offset at the bytes written (7430), and clears daemon_busy;
//     a reply after the 5 s deadline (req_timed_out) is dropped;
//   - hv_kvp_dev_daemon_read: KVP_ERROR before registration, then
//     sema_wait, uninterruptibly, until a request is posted; returns
//     MIN(resid, BUFFERSIZE + 1 - uio_offset) bytes of the message, so
//     read(2) after the REGISTER write returns 1 byte and a 7431-byte
//     pread at 0 returns 7431;
//   - hv_kvp_dev_daemon_poll: POLLIN while daemon_busy, i.e. from the
//     post until the reply is written, not only while data is unread;
//   - hv_kvp_process_request: one request at a time, none posted while
//     daemon_busy, 5 s for the reply (tsleep 5*hz), then HV_E_FAIL to the
//     host; on SET the daemon's value_type is 0.
//
// A read that sleeps while a reply is owed can never return on the real
// driver (nothing posts while daemon_busy); Wedged reports it. Close wakes
// such readers with EIO so tests end, which the real driver never does.
type Device struct {
	chardevtest.Model // the open descriptor, the lock (Mu), wake-ups

	timeout time.Duration
	log     *slog.Logger
	sem     chan struct{} // one host transaction at a time

	offset   int64
	regDone  bool // register_done
	busy     bool // daemon_busy
	timedOut bool // req_timed_out
	pending  chan []byte
	reqOp    kvp.Op // the operation of the request last posted
	sema     int    // dev_sema
	sleepers int    // reads sleeping in sema_wait
	truncate int    // the next read returns at most this many bytes; 0: no limit
	msg      [kvp.MsgSize + 1]byte
	regCh    chan struct{}
	goneCh   chan struct{}
	stats    DeviceStats
}

// DeviceStats counts what the Device saw.
type DeviceStats struct {
	Registrations int // successful REGISTER writes
	Requests      int // requests posted to the daemon
	Undelivered   int // requests not posted because a reply was owed
	Timeouts      int // requests failed for want of a reply in time
	LateReplies   int // replies dropped after the deadline
	ShortReads    int // reads that returned other than MsgSize bytes
	Refused       int // opens refused with -EBUSY
}

// DeviceOptions configure a Device.
type DeviceOptions struct {
	Timeout time.Duration // reply deadline; 0 means DefaultTimeout
	Logger  *slog.Logger  // nil discards
}

// NewDevice returns a Device with no daemon.
func NewDevice(opts DeviceOptions) *Device {
	d := &Device{
		timeout: opts.Timeout,
		log:     opts.Logger,
		sem:     make(chan struct{}, 1),
		regCh:   make(chan struct{}),
		goneCh:  make(chan struct{}),
	}
	d.Init(DevicePath)
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	close(d.goneCh) // no registration yet
	return d
}

// Sys returns the system calls of a process on this device, for
// kvp.OpenVia.
func (d *Device) Sys() chardev.Sys { return devSys{d} }

// devSys is the driver's cdevsw as seen through the system calls.
type devSys struct{ d *Device }

func (s devSys) Open(path string, flags int) (int, error) { return s.d.sysOpen(path, flags) }
func (s devSys) Close(fd int) error                       { return s.d.sysClose(fd) }
func (s devSys) Read(fd int, p []byte) (int, error)       { return s.d.sysRead(fd, p) }
func (s devSys) Write(fd int, p []byte) (int, error)      { return s.d.sysWrite(fd, p) }
func (s devSys) Ioctl(fd int, req uint, arg []byte) error { return s.d.sysIoctl(fd, req, arg) }
func (s devSys) Pread(fd int, p []byte, off int64) (int, error) {
	return s.d.sysPread(fd, p, off)
}
func (s devSys) Pwrite(fd int, p []byte, off int64) (int, error) {
	return s.d.sysPwrite(fd, p, off)
}
func (s devSys) Poll(fd int, events int16, timeout time.Duration) (int16, error) {
	return s.d.sysPoll(fd, events, timeout)
}

// Stats returns a snapshot of the counters.
func (d *Device) Stats() DeviceStats {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.stats
}

// Wedged reports whether a read sleeps in sema_wait while the daemon owes
// a reply: on the real driver nothing will ever wake it, and the process
// cannot be killed.
func (d *Device) Wedged() bool {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.sleepers > 0 && d.busy
}

// Sleeping reports how many reads sleep in sema_wait.
func (d *Device) Sleeping() int {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.sleepers
}

// TruncateNextRead makes the next read return at most n bytes, as a
// driver that hands over a message of an unexpected size.
func (d *Device) TruncateNextRead(n int) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	d.truncate = n
}

// Close ends the model: sleeping reads return EIO and host requests
// ErrClosed.
func (d *Device) Close() error {
	d.End()
	return nil
}

// sysOpen is hv_kvp_dev_open.
func (d *Device) sysOpen(path string, flags int) (int, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if flags&unix.O_ACCMODE != unix.O_RDWR && !d.Ended() && path == d.Path() {
		return -1, unix.EACCES // the daemon must read and write
	}
	fd, err := d.Open(path, &d.stats.Refused)
	if err == nil {
		d.offset = 0
		d.busy = false
	}
	return fd, err
}

// sysClose is hv_kvp_dev_close: it un-registers.
func (d *Device) sysClose(fd int) error {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if err := d.Model.Close(fd); err != nil {
		return err
	}
	if d.regDone {
		d.regDone = false
		d.regCh = make(chan struct{})
		close(d.goneCh)
		d.log.Info("daemon closed the device; unregistered")
	}
	return nil
}

// sysPoll is hv_kvp_dev_daemon_poll: POLLIN while daemon_busy.
func (d *Device) sysPoll(fd int, events int16, timeout time.Duration) (int16, error) {
	return d.Model.Poll(fd, events, timeout, func() bool { return d.busy })
}

// sysRead is read(2): hv_kvp_dev_daemon_read at the file offset, which it
// advances.
func (d *Device) sysRead(fd int, p []byte) (int, error) {
	d.Mu.Lock()
	off := d.offset
	d.Mu.Unlock()
	n, err := d.read(fd, p, off)
	if n > 0 {
		d.Mu.Lock()
		d.offset += int64(n)
		d.Mu.Unlock()
	}
	return n, err
}

// sysPread is pread(2): hv_kvp_dev_daemon_read at off.
func (d *Device) sysPread(fd int, p []byte, off int64) (int, error) { return d.read(fd, p, off) }

func (d *Device) read(fd int, p []byte, off int64) (int, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if err := d.Check(fd); err != nil {
		return 0, err
	}
	if !d.regDone {
		return 0, kvpError
	}
	for d.sema == 0 { // sema_wait: no signal, no timeout ends it
		d.sleepers++
		ch := d.Changed()
		d.Mu.Unlock()
		<-ch
		d.Mu.Lock()
		d.sleepers--
		if d.Ended() {
			return 0, unix.EIO
		}
	}
	d.sema--
	amt := max(0, min(int64(len(p)), kvp.MsgSize+1-off))
	if d.truncate > 0 {
		amt, d.truncate = min(amt, int64(d.truncate)), 0
	}
	// The driver copies from the start of its buffer, whatever the offset.
	n := copy(p[:amt], d.msg[:])
	if n != kvp.MsgSize {
		d.stats.ShortReads++
	}
	return n, nil
}

// sysWrite is write(2): hv_kvp_dev_daemon_write, which resets uio_offset to
// 0, so the file offset ends at the bytes written.
func (d *Device) sysWrite(fd int, p []byte) (int, error) {
	n, err := d.write(fd, p)
	if err == nil {
		d.Mu.Lock()
		d.offset = int64(n)
		d.Mu.Unlock()
	}
	return n, err
}

// sysPwrite is pwrite(2): hv_kvp_dev_daemon_write; the file offset stays.
func (d *Device) sysPwrite(fd int, p []byte, _ int64) (int, error) { return d.write(fd, p) }

func (d *Device) write(fd int, p []byte) (int, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if err := d.Check(fd); err != nil {
		return 0, err
	}
	amt := min(len(p), kvp.MsgSize)
	copy(d.msg[:amt], p)
	if !d.regDone {
		if d.msg[0] != byte(kvp.OpRegister) {
			d.log.Warn("registration failed: first write is not REGISTER", "op", d.msg[0])
			return 0, kvpError
		}
		d.regDone = true
		d.stats.Registrations++
		close(d.regCh)
		d.goneCh = make(chan struct{})
		d.log.Info("daemon registered")
		d.Notify()
		return amt, nil
	}
	if !d.timedOut && d.pending != nil {
		d.pending <- append([]byte(nil), d.msg[:kvp.MsgSize]...)
		d.pending = nil
	} else {
		d.stats.LateReplies++
		d.log.Warn("late reply dropped", "status", kvp.Status(binary.LittleEndian.Uint32(d.msg[:])))
	}
	d.busy = false
	d.Notify()
	if !d.reqOp.Known() {
		// The host got its answer, but the driver has no conversion
		// for the operation and fails the write.
		return 0, unix.EINVAL
	}
	return amt, nil
}

// sysIoctl: the KVP driver has no ioctls.
func (d *Device) sysIoctl(int, uint, []byte) error { return unix.ENOTTY }

// WaitRegistered returns once a daemon is registered, at once if one is.
func (d *Device) WaitRegistered(ctx context.Context) error {
	for {
		d.Mu.Lock()
		ok, ch, closed := d.regDone, d.regCh, d.Ended()
		d.Mu.Unlock()
		switch {
		case closed:
			return ErrClosed
		case ok:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNotRegistered, ctx.Err())
		}
	}
}

func (d *Device) session() (<-chan struct{}, bool) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.goneCh, d.regDone
}

func (d *Device) closing() <-chan struct{} { return d.Done() }

// Do sends req as the host, like Kernel.Do.
func (d *Device) Do(ctx context.Context, req kvp.Msg) (kvp.Msg, error) {
	return do(ctx, kvp.FreeBSD, d.DoRaw, req)
}

// DoRaw posts the 7430-byte request b once a daemon is registered and the
// previous transaction is over, and returns the daemon's reply. On SET the
// daemon sees value_type 0, as hv_kvp.c leaves it.
func (d *Device) DoRaw(ctx context.Context, b []byte) ([]byte, error) {
	if len(b) != kvp.MsgSize {
		return nil, fmt.Errorf("kvptest: the driver's requests are %d bytes, not %d", kvp.MsgSize, len(b))
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("kvptest: waiting for the previous transaction: %w", ctx.Err())
	}
	defer func() { <-d.sem }()
	if err := d.WaitRegistered(ctx); err != nil {
		return nil, err
	}
	reply, posted := d.post(b)
	timer := time.NewTimer(d.timeout)
	defer timer.Stop()
	var r []byte
	select {
	case r = <-reply:
	case <-timer.C:
	case <-d.Done():
	case <-ctx.Done():
		// The kernel does not cancel a request it handed out: wait out
		// its deadline so the next one finds the state it would.
		select {
		case r = <-reply:
		case <-timer.C:
		case <-d.Done():
		}
	}
	return d.finish(r, posted)
}

// post is hv_kvp_process_request handing b to the daemon, unless a reply
// is still owed. It returns where the reply will arrive.
func (d *Device) post(b []byte) (reply chan []byte, posted bool) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	reply = make(chan []byte, 1)
	if d.busy {
		d.stats.Undelivered++
		d.log.Warn("daemon still owes a reply; request not posted")
		return reply, false
	}
	d.timedOut, d.busy = false, true
	d.pending, d.reqOp = reply, kvp.Op(b[0])
	copy(d.msg[:kvp.MsgSize], b)
	if kvp.Op(b[0]) == kvp.OpSet {
		binary.LittleEndian.PutUint32(d.msg[4:], 0) // value_type is not copied
	}
	d.sema++
	d.stats.Requests++
	d.Notify()
	return reply, true
}

// finish ends the transaction as the tsleep's return does: req_timed_out
// is set, and a request without a reply fails.
func (d *Device) finish(r []byte, posted bool) ([]byte, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	d.timedOut = true
	d.pending = nil
	if d.Ended() {
		return nil, ErrClosed
	}
	if r == nil {
		d.stats.Timeouts++
		if !posted {
			return nil, fmt.Errorf("%w: %w", ErrTimeout, ErrBusy)
		}
		return nil, ErrTimeout
	}
	return r, nil
}
