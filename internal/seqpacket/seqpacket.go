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

// waitInterval bounds how long a Read waits in read(2) before it looks
// at its context and at Close again (SO_RCVTIMEO); the device transports
// wait as long in poll(2).
const waitInterval = 250 * time.Millisecond

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
	if err := blockingWithTimeout(raw); err != nil {
		uc.Close()
		return nil, fmt.Errorf("%s: connect %s: %w", prefix, path, err)
	}
	c := &Conn{conn: uc, raw: raw, prefix: prefix, size: size, wrongSize: wrongSize}
	c.readFn = c.read
	return c, nil
}

// blockingWithTimeout makes the socket's reads block in the kernel for at
// most waitInterval (SO_RCVTIMEO, then EAGAIN), instead of the runtime's
// non-blocking mode. O_NONBLOCK belongs to the open file, which only this
// Conn holds. Writes block too; a reply is one datagram and Close's
// shutdown ends a write the peer does not drain.
func blockingWithTimeout(raw syscall.RawConn) error {
	tv := unix.NsecToTimeval(waitInterval.Nanoseconds())
	var err error
	cerr := raw.Control(func(fd uintptr) {
		if err = unix.SetNonblock(int(fd), false); err != nil {
			return
		}
		err = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// Read blocks until one datagram arrives or ctx ends. buf should be at
// least one byte longer than the message size, so a longer datagram is
// noticed rather than silently cut.
//
// The wait is one blocking read(2) on this goroutine's thread, not the
// runtime's network poller: a datagram then wakes the thread that reads
// and answers it directly, where the poller would first wake its own
// thread and then hand the goroutine over. It needs no poll(2) first,
// unlike the character devices, whose driver read cannot be woken: the
// socket's read returns EAGAIN after waitInterval (SO_RCVTIMEO) and 0
// at once after Close's shutdown(2). When ctx ends, Read returns ctx's
// error within waitInterval; the socket stays open and readable, so a
// reply owed for a message already read can still be written, and a
// Read with another context works.
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

// read runs inside RawConn.Read, which keeps fd open meanwhile: it reads
// one datagram, waiting at most waitInterval at a time until one is
// there, ctx ends or Close is called. It always reports done: the
// runtime's poller is not used.
func (c *Conn) read(fd uintptr) bool {
	for {
		if err := c.rctx.Err(); err != nil {
			c.rerr = err
			return true
		}
		if c.closed.Load() {
			c.rerr = errClosed
			return true
		}
		n, err := unix.Read(int(fd), c.rbuf)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			// The receive timeout, or a signal: look at ctx and Close.
			continue
		case err != nil:
			c.rerr = err
		case n == 0 && c.closed.Load():
			c.rerr = errClosed // Close's shutdown, not the peer
		default:
			c.rn = n
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

// Close closes the socket; it is safe to call more than once. It shuts
// the socket down first, which ends a Read or Write blocked meanwhile at
// once, and waits for them.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		c.closed.Store(true)
		c.raw.Control(func(fd uintptr) {
			unix.Shutdown(int(fd), unix.SHUT_RDWR)
		})
		err = c.conn.Close()
	})
	return err
}
