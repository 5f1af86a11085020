package vf

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hvagent/hvagent/agent"
)

// DefaultDevdSocket is devd's SOCK_SEQPACKET socket (devd(8)): one event
// per record, unlike the stream socket /var/run/devd.pipe.
const DefaultDevdSocket = "/var/run/devd.seqpacket.pipe"

// dialDevd connects to devd's seqpacket socket.
func dialDevd(ctx context.Context, path string) (*net.UnixConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unixpacket", path)
	if err != nil {
		return nil, fmt.Errorf("vf: connect to devd at %s: %w", path, err)
	}
	return c.(*net.UnixConn), nil
}

// readRecords reads records from c until it fails or ctx ends, and
// hands each line of each record to line. A record longer than MaxLine
// is delivered truncated to MaxLine+1 bytes, which ParseEvent rejects.
func readRecords(ctx context.Context, c *net.UnixConn, line func([]byte)) error {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	buf := make([]byte, MaxLine+2)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("vf: read from devd: %w", err)
		}
		if n == 0 {
			// A zero-length read on SOCK_SEQPACKET: devd closed the socket.
			return fmt.Errorf("vf: read from devd: %w", net.ErrClosed)
		}
		rec := buf[:n]
		for len(rec) > 0 {
			l, rest, _ := bytes.Cut(rec, []byte("\n"))
			if len(l) > 0 {
				line(l)
			}
			rec = rest
		}
	}
}

// devdReconnect is the backoff between attempts to reach devd again
// after it went away (devd restarted, or is being upgraded). devd is
// back within a second or so, and every moment without it is VF events
// missed, so it starts sooner and caps lower than a subsystem restart
// (agent.DefaultBackoff).
var devdReconnect = agent.Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second}

// followDevd reads devd until ctx ends: it calls connected after each
// (re)connection, lost when the connection goes, and line for every
// line, and reconnects with backoff whenever devd goes away. first is
// the connection already made.
func followDevd(ctx context.Context, path string, first *net.UnixConn, b agent.Backoff, log *slog.Logger, connected func(again bool), lost func(), line func([]byte)) {
	c := first
	connected(false)
	for {
		err := readRecords(ctx, c, line)
		c.Close()
		if ctx.Err() != nil {
			return
		}
		lost()
		log.Warn("lost devd; reconnecting", "err", err)
		for attempt := 1; ; attempt++ {
			if b.Sleep(ctx, attempt) != nil {
				return
			}
			if c, err = dialDevd(ctx, path); err == nil {
				break
			}
			if attempt == 1 || attempt%20 == 0 {
				log.Warn("devd still unreachable", "err", err, "attempts", attempt)
			}
		}
		log.Info("reconnected to devd", "socket", path)
		connected(true)
	}
}
