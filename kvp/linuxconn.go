package kvp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrReplyTooLate reports a reply not written because answering took
// longer than LinuxReplyWithin: the Linux kernel may already have failed
// the request and would take the reply as the answer to the next one.
// The subsystem returns it, which closes the device (the kernel then
// fails anything pending) and registers again.
var ErrReplyTooLate = errors.New("kvp: reply too late for the Linux kernel")

// handshakeTimeout bounds the wait for the kernel's REGISTER1 answer,
// which hv_kvp.c's kvp_handle_handshake sends at once.
const handshakeTimeout = 10 * time.Second

// linuxConn is a registered Linux transport: the device or the socket,
// with the reply deadline.
type linuxConn struct {
	Transport
	version string // the kernel's, from its REGISTER1 answer
	now     func() time.Time
	within  time.Duration
	readAt  time.Time
	owed    bool
}

// linuxHandshake reads the kernel's answer to REGISTER1 from t, which
// has just written it: a LinuxMsgSize message with operation
// KVP_OP_REGISTER1 and HV_DRV_VERSION ("3.1"), sent by kvp_register
// (drivers/hv/hv_kvp.c). The kernel posts no host request before it is
// read, so anything else means the peer is not a Linux KVP kernel.
func linuxHandshake(ctx context.Context, t Transport) (*linuxConn, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	buf := make([]byte, Linux.ReadBufSize())
	n, err := t.Read(ctx, buf)
	if err != nil {
		return nil, fmt.Errorf("read the kernel's REGISTER1 answer: %w", err)
	}
	v, err := Linux.DecodeRegister(buf[:n])
	if err != nil {
		return nil, fmt.Errorf("the kernel's REGISTER1 answer: %w", err)
	}
	return newLinuxConn(t, v, time.Now), nil
}

func newLinuxConn(t Transport, version string, now func() time.Time) *linuxConn {
	return &linuxConn{Transport: t, version: version, now: now, within: LinuxReplyWithin}
}

// KernelVersion is the version the kernel answered REGISTER1 with.
func (c *linuxConn) KernelVersion() string { return c.version }

// Read reads a request and notes when: its reply is owed from then on,
// even for a message of the wrong size.
func (c *linuxConn) Read(ctx context.Context, buf []byte) (int, error) {
	n, err := c.Transport.Read(ctx, buf)
	if err == nil || errors.Is(err, ErrWrongSize) {
		c.readAt, c.owed = c.now(), true
	}
	return n, err
}

// Write writes the reply, unless more than LinuxReplyWithin has passed
// since its request was read: then nothing is written and
// ErrReplyTooLate is returned.
func (c *linuxConn) Write(b []byte) error {
	if c.owed {
		c.owed = false
		if took := c.now().Sub(c.readAt); took > c.within {
			return fmt.Errorf("%w: %s after the request was read (at most %s)", ErrReplyTooLate, took.Round(time.Millisecond), c.within)
		}
	}
	return c.Transport.Write(b)
}
