//go:build unix

package vsstest

import (
	"context"
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/internal/chardev/chardevtest"
)

// DevicePath is where FreeBSD's hv_vss driver creates the daemon's node
// (sys/dev/hyperv/utilities/hv_snapshot.c, FS_VSS_DEV_NAME "hv_fsvss_dev").
const DevicePath = "/dev/hv_fsvss_dev"

// The daemon's ioctls, as FreeBSD's sys/sys/ioccom.h builds them from
// hv_snapshot.h: IOCHVVSSREAD = _IOR('v', 2, struct hv_vss_opt_msg),
// IOCHVVSSWRITE = _IOW('v', 3, struct hv_vss_opt_msg), 64 bytes.
const (
	iocRead  = 0x40000000 | 64<<16 | 'v'<<8 | 2
	iocWrite = 0x80000000 | 64<<16 | 'v'<<8 | 3
	msgSize  = 64
)

// Device is a model of FreeBSD's /dev/hv_fsvss_dev under the device
// transport's system calls: Sys returns a chardev.Sys for DevicePath, so
// vss.OpenVia runs the real device code against it.
//
// It reproduces hv_snapshot.c where a daemon can tell:
//   - hv_vss_dev_open registers; a second open fails with -EBUSY;
//   - poll reports POLLIN while a request waits in the notify queue;
//   - IOCHVVSSREAD is _IOR: the kernel zero-fills the buffer, and
//     hv_vss_daemon_notified fills in the first queued request (moving it
//     to the ack queue) or, when its timeout removed it, only status 1:
//     opt 0, status 1, msgid 0;
//   - IOCHVVSSWRITE finds the request by msgid in the ack queue; a late
//     reply finds nothing and the ioctl still returns 0;
//   - each request has its timeout; when it fires the request leaves the
//     queues and the host gets a failure.
type Device struct {
	chardevtest.Model // the open descriptor, the lock (Mu), wake-ups

	timeout time.Duration

	nextID uint64
	notify []*devReq // hv_snapshot.c's to_daemon_notify_queue
	ack    []*devReq // to_daemon_ack_queue
	stats  DeviceStats
}

type devReq struct {
	opt, msgid uint64
	reply      chan devResult
	timer      *time.Timer
}

type devResult struct {
	status   uint32
	timedOut bool
}

// DeviceStats counts what the Device saw.
type DeviceStats struct {
	Requests    int // requests queued for the daemon
	Timeouts    int // requests failed for want of a reply in time
	EmptyReads  int // IOCHVVSSREAD with nothing queued: zero-filled, status 1
	LateReplies int // IOCHVVSSWRITE for a request no longer waiting
	Refused     int // opens refused with -EBUSY
}

// NewDevice returns a Device with no daemon; timeout is each request's
// limit (0 means DefaultTimeout).
func NewDevice(timeout time.Duration) *Device {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &Device{timeout: timeout}
	d.Init(DevicePath)
	return d
}

// Sys returns the system calls of a process on this device.
func (d *Device) Sys() chardev.Sys { return vssSys{d} }

// Stats returns a snapshot of the counters.
func (d *Device) Stats() DeviceStats {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.stats
}

// Registered reports whether a daemon holds the device open.
func (d *Device) Registered() bool {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.IsOpen()
}

// Close ends the model; host requests return ErrClosed.
func (d *Device) Close() error {
	d.End()
	return nil
}

// Transact queues op for the daemon as the host's request would and
// returns the daemon's status, or ErrTimeout when the request's timeout
// fired first (the host got a failure).
func (d *Device) Transact(ctx context.Context, op uint32) (uint32, error) {
	r := d.queue(op)
	select {
	case res := <-r.reply:
		if res.timedOut {
			return StatusFailure, ErrTimeout
		}
		return res.status, nil
	case <-d.Done():
		return StatusFailure, ErrClosed
	case <-ctx.Done():
		// The kernel does not cancel the request: it runs to its reply
		// or its timeout without this caller.
		return StatusFailure, ctx.Err()
	}
}

// Expire fires the timeout of the oldest outstanding request now, as its
// callout would, wherever it waits: in the notify queue (the next
// IOCHVVSSREAD reads zero-filled) or the ack queue (its reply will be
// late). It reports whether there was one.
func (d *Device) Expire() bool {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	for _, q := range [][]*devReq{d.notify, d.ack} {
		if len(q) > 0 {
			if r := q[0]; r.timer.Stop() {
				d.expireLocked(r)
			}
			return true
		}
	}
	return false
}

func (d *Device) queue(op uint32) *devReq {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	d.nextID++
	r := &devReq{opt: uint64(op), msgid: d.nextID, reply: make(chan devResult, 1)}
	r.timer = time.AfterFunc(d.timeout, func() {
		d.Mu.Lock()
		defer d.Mu.Unlock()
		d.expireLocked(r)
	})
	d.notify = append(d.notify, r)
	d.stats.Requests++
	d.Notify()
	return r
}

// expireLocked is the request's timeout: it leaves the queues and the
// host gets a failure. d.mu is held.
func (d *Device) expireLocked(r *devReq) {
	if remove(&d.notify, r) || remove(&d.ack, r) {
		d.stats.Timeouts++
		r.reply <- devResult{status: StatusFailure, timedOut: true}
		d.Notify()
	}
}

func remove(q *[]*devReq, r *devReq) bool {
	for i, x := range *q {
		if x == r {
			*q = append((*q)[:i], (*q)[i+1:]...)
			return true
		}
	}
	return false
}

type vssSys struct{ d *Device }

func (s vssSys) Open(path string, _ int) (int, error) {
	d := s.d
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.Model.Open(path, &d.stats.Refused)
}

func (s vssSys) Close(fd int) error {
	d := s.d
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.Model.Close(fd)
}

func (s vssSys) Poll(fd int, events int16, timeout time.Duration) (int16, error) {
	return s.d.Model.Poll(fd, events, timeout, func() bool { return len(s.d.notify) > 0 })
}

func (s vssSys) Ioctl(fd int, req uint, arg []byte) error {
	d := s.d
	d.Mu.Lock()
	defer d.Mu.Unlock()
	if err := d.Check(fd); err != nil {
		return err
	}
	if len(arg) < msgSize {
		return unix.EFAULT
	}
	msg := arg[:msgSize]
	switch req {
	case iocRead:
		clear(msg) // _IOR: the kernel hands the driver a zeroed buffer
		if len(d.notify) == 0 {
			d.stats.EmptyReads++
			binary.LittleEndian.PutUint32(msg[4:], StatusFailure)
			return nil
		}
		r := d.notify[0]
		d.notify = d.notify[1:]
		d.ack = append(d.ack, r)
		binary.LittleEndian.PutUint32(msg[0:], uint32(r.opt))
		binary.LittleEndian.PutUint64(msg[8:], r.msgid)
		return nil
	case iocWrite:
		id := binary.LittleEndian.Uint64(msg[8:])
		for _, r := range d.ack {
			if r.msgid == id && r.timer.Stop() {
				remove(&d.ack, r)
				r.reply <- devResult{status: binary.LittleEndian.Uint32(msg[4:])}
				d.Notify()
				return nil
			}
		}
		d.stats.LateReplies++ // hv_vss_daemon_acked: not found, still 0
		return nil
	}
	return unix.ENOTTY
}

func (vssSys) Read(int, []byte) (int, error)          { return 0, unix.ENODEV }
func (vssSys) Write(int, []byte) (int, error)         { return 0, unix.ENODEV }
func (vssSys) Pread(int, []byte, int64) (int, error)  { return 0, unix.ENODEV }
func (vssSys) Pwrite(int, []byte, int64) (int, error) { return 0, unix.ENODEV }
