// Package seqpacket is the socket side of the SPEC §6 transport: one
// SOCK_SEQPACKET datagram carries exactly what one read, write or ioctl
// on the FreeBSD device would. kvp and vss use it the same way; only the
// message size and the names in errors differ.
package seqpacket

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// Conn is a connected SOCK_SEQPACKET socket that reads and writes whole
// messages of one size.
type Conn struct {
	conn      *net.UnixConn
	once      sync.Once
	prefix    string // "kvp" or "vss", for error messages
	size      int
	wrongSize error
}

// Dial connects to the Unix socket at path. Datagrams that are not size
// bytes long make Read return an error wrapping wrongSize, and the
// connection stays usable. prefix names the subsystem in errors.
func Dial(ctx context.Context, path, prefix string, size int, wrongSize error) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unixpacket", path)
	if err != nil {
		return nil, fmt.Errorf("%s: connect %s: %w", prefix, path, err)
	}
	return &Conn{conn: c.(*net.UnixConn), prefix: prefix, size: size, wrongSize: wrongSize}, nil
}

// Read blocks until one datagram arrives or ctx ends. buf should be at
// least one byte longer than the message size, so a longer datagram is
// noticed rather than silently cut.
func (c *Conn) Read(ctx context.Context, buf []byte) (int, error) {
	stop := context.AfterFunc(ctx, func() { c.conn.Close() })
	defer stop()
	n, err := c.conn.Read(buf)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
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

// Write sends one whole message.
func (c *Conn) Write(b []byte) error {
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("%s: write: %w", c.prefix, err)
	}
	return nil
}

// Close closes the socket; it is safe to call more than once.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() { err = c.conn.Close() })
	return err
}
