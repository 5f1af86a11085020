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

// Transact sends one request and waits for its reply, as the kernel does
// for the host: one at a time, at most the timeout. On timeout the host
// gets StatusFailure with ErrTimeout and a later reply is dropped.
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
	conn := k.conn
	k.stats.Requests++
	k.mu.Unlock()
	if _, err := conn.Write(Encode(op, StatusSuccess, t.msgid)); err != nil {
		k.drop(t)
		return StatusFailure, fmt.Errorf("%w: %w", ErrGone, err)
	}
	timer := time.NewTimer(k.timeout)
	defer timer.Stop()
	select {
	case b, ok := <-t.reply:
		if !ok {
			return StatusFailure, ErrGone
		}
		if got := binary.LittleEndian.Uint32(b[0:]); got != op {
			k.mu.Lock()
			k.stats.BadReplies++
			k.mu.Unlock()
			return StatusFailure, fmt.Errorf("%w: reply op %d to request op %d", ErrBadMsg, got, op)
		}
		return binary.LittleEndian.Uint32(b[4:]), nil
	case <-timer.C:
		k.drop(t)
		k.mu.Lock()
		k.stats.Timeouts++
		k.mu.Unlock()
		return StatusFailure, ErrTimeout
	case <-ctx.Done():
		k.drop(t)
		return StatusFailure, ctx.Err()
	}
}

// SendExpired hands the daemon a request whose status already says it
// failed (the kernel timed it out before the daemon read it). The daemon
// must skip it; any reply counts as late.
func (k *Kernel) SendExpired(op uint32) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn == nil {
		return ErrNoPeer
	}
	k.msgid++
	_, err := k.conn.Write(Encode(op, StatusFailure, k.msgid))
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

func (k *Kernel) drop(t *txn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur == t {
		k.cur = nil
	}
}
