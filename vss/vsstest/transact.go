package vsstest

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// Encode builds a request datagram as IOCHVVSSREAD would return it.
func Encode(op, status uint32, msgid uint64) []byte {
	b := make([]byte, MsgSize)
	binary.LittleEndian.PutUint32(b[0:], op)
	binary.LittleEndian.PutUint32(b[4:], status)
	binary.LittleEndian.PutUint64(b[8:], msgid)
	return b
}

// TimedOutRead is what IOCHVVSSREAD returns when the request that made
// poll report POLLIN timed out before the read: sys_ioctl
// (sys/kern/sys_generic.c) zeroes the buffer of an _IOR ioctl, and
// hv_vss_notified (hv_snapshot.c), finding the notify queue empty, sets
// only status to VSS_FAIL. opt is HV_VSS_NONE and msgid 0.
func TimedOutRead() []byte { return Encode(OpNone, StatusFailure, 0) }

// Transact sends one request and waits for its reply, as the kernel does
// for the host: one at a time, at most the timeout. On timeout the host
// gets StatusFailure with ErrTimeout: a request the daemon had not read
// yet is withdrawn, and a reply to one it had read is late and ignored.
func (k *Kernel) Transact(ctx context.Context, op uint32) (uint32, error) {
	select {
	case k.sem <- struct{}{}:
	case <-ctx.Done():
		return StatusFailure, ctx.Err()
	}
	defer func() { <-k.sem }()
	k.mu.Lock()
	if k.conn == nil {
		k.mu.Unlock()
		return StatusFailure, ErrNoPeer
	}
	k.msgid++
	t := &txn{op: uint64(op), msgid: k.msgid, reply: make(chan []byte, 1)}
	k.cur = t
	if k.held == nil {
		if err := k.handLocked(t); err != nil {
			k.withdrawLocked(t)
			k.mu.Unlock()
			return StatusFailure, fmt.Errorf("%w: %w", ErrGone, err)
		}
	} else {
		k.posted = t // the daemon is still busy with an earlier request
	}
	k.mu.Unlock()
	timer := time.NewTimer(k.timeout)
	defer timer.Stop()
	select {
	case b, ok := <-t.reply:
		return k.result(t, b, ok)
	case <-timer.C:
		if b, ok, done := k.expire(t, true); done {
			return k.result(t, b, ok)
		}
		return StatusFailure, ErrTimeout
	case <-ctx.Done():
		if b, ok, done := k.expire(t, false); done {
			return k.result(t, b, ok)
		}
		return StatusFailure, ctx.Err()
	}
}

// result turns the daemon's reply to t into the host's status.
func (k *Kernel) result(t *txn, b []byte, ok bool) (uint32, error) {
	if !ok {
		return StatusFailure, ErrGone
	}
	if got := binary.LittleEndian.Uint32(b[0:]); uint64(got) != t.op {
		k.mu.Lock()
		k.stats.BadReplies++
		k.mu.Unlock()
		return StatusFailure, fmt.Errorf("%w: reply op %d to request op %d", ErrBadMsg, got, t.op)
	}
	return binary.LittleEndian.Uint32(b[4:]), nil
}

// expire ends t without an answer, as hv_vss_timeout does, unless the
// answer came first: then done is true and the answer is returned.
func (k *Kernel) expire(t *txn, timeout bool) (b []byte, ok, done bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t.answered {
		b, ok = <-t.reply
		return b, ok, true
	}
	if timeout {
		k.stats.Timeouts++
		if k.posted == t {
			k.stats.Expired++
		}
	}
	k.withdrawLocked(t)
	return nil, false, false
}

// withdrawLocked removes t from the kernel's queues: a request not read
// yet is never handed over; a reply to one read already will be late.
func (k *Kernel) withdrawLocked(t *txn) {
	t.expired = true
	if k.posted == t {
		k.posted = nil
	}
	if k.cur == t {
		k.cur = nil
	}
}

// SendTimedOut hands the daemon a TimedOutRead: the read that poll had
// announced, after the request timed out (hv_vss_notified in
// hv_snapshot.c). No request is held
// and none is answered: the daemon must skip it, and any reply to it is
// counted as Stray.
func (k *Kernel) SendTimedOut() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn == nil {
		return ErrNoPeer
	}
	k.stats.ZeroFilled++
	_, err := k.conn.Write(TimedOutRead())
	return err
}

// SendRaw hands the daemon any datagram, such as one of the wrong size,
// which the daemon must drop without a reply.
func (k *Kernel) SendRaw(b []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn == nil {
		return ErrNoPeer
	}
	_, err := k.conn.Write(b)
	return err
}
