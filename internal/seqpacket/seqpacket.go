// Package seqpacket is the socket side of the SPEC §6 transport: one
// SOCK_SEQPACKET datagram carries exactly what one read, write or ioctl
// on the FreeBSD device would. kvp and vss use it the same way; only the
// message size and the names in errors differ.
package seqpacket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pollInterval bounds how long a Read waits in poll(2) before it looks at
// its context and at Close again; the device transports wait the same way.
const pollInterval = 250 * time.Millisecond

// Conn is a connected SOCK_SEQPACKET socket that reads and writes whole
// messages of one size.
type Conn struct {
	conn      *net.UnixConn
	raw       syscall.RawConn
	once      sync.Once
	closed    atomic.Bool
	prefix    string // "kvp" or "vss", for error messages
	size      int
	wrongSize error

	// What Read hands readFn and gets back: readFn is made once, so that
	// a Read allocates nothing. One Read at a time.
	rctx   context.Context
	rbuf   []byte
	rn     int
	rerr   error
	readFn func(fd uintptr) bool
}

// errClosed ends a Read when Close is called.
var errClosed = errors.New("connection closed")

// Dial connects to the Unix socket at path. Datagrams that are not size
// bytes long make Read return an error wrapping wrongSize, and the
// connection stays usable. prefix names the subsystem in errors.
func Dial(ctx context.Context, path, prefix string, size int, wrongSize error) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unixpacket", path)
	if err != nil {
		return nil, fmt.Errorf("%s: connect %s: %w", prefix, path, err)
	}
	uc := nc.(*net.UnixConn)
	raw, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return nil, fmt.Errorf("%s: connect %s: %w", prefix, path, err)
	}
	c := &Conn{conn: uc, raw: raw, prefix: prefix, size: size, wrongSize: wrongSize}
	c.readFn = c.read
	return c, nil
}

// Read blocks until one datagram arrives or ctx ends. buf should be at
// least one byte longer than the message size, so a longer datagram is
// noticed rather than silently cut.
//
// The wait is poll(2) on this goroutine's thread, then one read(2), as
// the device transports and the C daemons do, not the runtime's network
// poller: a datagram then wakes the thread that reads and answers it
// directly, where the poller would first wake its own thread and then
// hand the goroutine over. When ctx ends, Read returns ctx's error within
// pollInterval; the socket stays open, so a reply owed for a message
// already read can still be written.
func (c *Conn) Read(ctx context.Context, buf []byte) (int, error) {
	c.rctx, c.rbuf, c.rn, c.rerr = ctx, buf, 0, nil
	err := c.raw.Read(c.readFn)
	n := c.rn
	if err == nil {
		err = c.rerr
	}
	c.rctx, c.rbuf, c.rerr = nil, nil, nil
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if errors.Is(err, errClosed) {
			err = net.ErrClosed
		}
		return 0, fmt.Errorf("%s: read: %w", c.prefix, err)
	}
	if n == 0 {
		// A zero-length datagram on SEQPACKET is how a closed peer reads.
		return 0, fmt.Errorf("%s: read: %w", c.prefix, net.ErrClosed)
	}
	if n != c.size {
		return n, fmt.Errorf("%w: %d bytes", c.wrongSize, n)
	}
	return n, nil
}

// read runs inside RawConn.Read, which keeps fd open meanwhile: it polls
// fd until a datagram is there, ctx ends or Close is called, and reads
// the datagram. It always reports done: the runtime's poller is not used.
func (c *Conn) read(fd uintptr) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if err := c.rctx.Err(); err != nil {
			c.rerr = err
			return true
		}
		if c.closed.Load() {
			c.rerr = errClosed
			return true
		}
		n, err := unix.Poll(fds, int(pollInterval/time.Millisecond))
		switch {
		case errors.Is(err, unix.EINTR), err == nil && n == 0:
			continue
		case err != nil:
			c.rerr = fmt.Errorf("poll: %w", err)
			return true
		}
		// The descriptor is non-blocking (the runtime's): a datagram
		// taken by nobody else is there, or EAGAIN and poll again.
		c.rn, err = unix.Read(int(fd), c.rbuf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			c.rn, c.rerr = 0, err
		}
		return true
	}
}

// Write sends one whole message.
func (c *Conn) Write(b []byte) error {
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("%s: write: %w", c.prefix, err)
	}
	return nil
}

// Close closes the socket; it is safe to call more than once. A Read
// blocked meanwhile returns within pollInterval, and Close waits for it.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		c.closed.Store(true)
		err = c.conn.Close()
	})
	return err
}
