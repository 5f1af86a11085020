// Package vsstest provides a simulated FreeBSD VSS kernel device and a
// simulated Hyper-V host, in the style of net/http/httptest, plus the
// loop-mounted filesystem that real-freeze tests use.
//
// A Kernel listens on a SOCK_SEQPACKET Unix socket and speaks the socket
// transport of SPEC §6: connecting registers the daemon, each request is
// a 64-byte hv_vss_opt_msg datagram, and the daemon answers each with one
// 64-byte datagram. Where the agent can tell, it behaves like
// sys/dev/hyperv/utilities/hv_snapshot.c: one daemon at a time (a second
// connection is refused, the EBUSY of a second open), one transaction at
// a time, and 15 seconds per operation, after which the host gets a
// failure and a late reply is dropped. The wire format is encoded here
// independently of package vss, so the fake checks the real bytes.
package vsstest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Wire values of struct hv_vss_opt_msg (SPEC §3.1).
const (
	MsgSize       = 64
	OpCheck       = 1
	OpFreeze      = 2
	OpThaw        = 3
	StatusSuccess = 0
	StatusFailure = 1
)

// DefaultTimeout is the FreeBSD kernel's per-operation limit
// (TIMEOUT_LIMIT in hv_snapshot.c).
const DefaultTimeout = 15 * time.Second

// Errors of Transact; test them with errors.Is.
var (
	ErrTimeout = errors.New("vsstest: daemon did not reply in time")
	ErrGone    = errors.New("vsstest: daemon closed the device")
	ErrNoPeer  = errors.New("vsstest: no daemon connected")
	ErrClosed  = errors.New("vsstest: kernel closed")
	ErrBadMsg  = errors.New("vsstest: malformed reply")
)

// KernelOptions configure a Kernel.
type KernelOptions struct {
	Timeout time.Duration // per operation; 0 means DefaultTimeout
	Logger  *slog.Logger  // nil discards
}

// KernelStats counts what the Kernel saw.
type KernelStats struct {
	Connections int // daemons that connected (registered)
	Rejected    int // connections refused while one was open
	Requests    int // requests delivered
	Timeouts    int // requests failed for want of a reply in time
	LateReplies int // replies dropped: late, unexpected or for another msgid
	BadReplies  int // datagrams of the wrong size, or with the wrong op
}

// Kernel is the simulated kernel side of /dev/hv_fsvss_dev.
type Kernel struct {
	path    string
	ln      *net.UnixListener
	timeout time.Duration
	log     *slog.Logger
	sem     chan struct{} // one transaction at a time
	wg      sync.WaitGroup

	mu     sync.Mutex
	conn   *net.UnixConn
	connCh chan struct{} // closed when a daemon connects
	msgid  uint64
	cur    *txn
	stats  KernelStats
	closed bool
}

type txn struct {
	op, msgid uint64
	reply     chan []byte
}

// NewKernel listens on path and serves daemons until Close.
func NewKernel(path string, opts KernelOptions) (*Kernel, error) {
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("vsstest: listen on %s: %w", path, err)
	}
	k := &Kernel{path: path, ln: ln, timeout: opts.Timeout, log: opts.Logger,
		sem: make(chan struct{}, 1), connCh: make(chan struct{})}
	if k.timeout <= 0 {
		k.timeout = DefaultTimeout
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	k.wg.Go(k.acceptLoop)
	return k, nil
}

// Path is the socket the daemon connects to (its --vss.device).
func (k *Kernel) Path() string { return k.path }

// Stats returns a copy of the counters.
func (k *Kernel) Stats() KernelStats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stats
}

// Connected reports whether a daemon holds the device.
func (k *Kernel) Connected() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.conn != nil
}

// WaitConnected returns once a daemon holds the device.
func (k *Kernel) WaitConnected(ctx context.Context) error {
	k.mu.Lock()
	ch := k.connCh
	k.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNoPeer, ctx.Err())
	}
}

func (k *Kernel) acceptLoop() {
	for {
		c, err := k.ln.AcceptUnix()
		if err != nil {
			return
		}
		k.mu.Lock()
		if k.conn != nil || k.closed {
			k.stats.Rejected++
			k.mu.Unlock()
			k.log.Warn("second open refused (EBUSY)")
			c.Close()
			continue
		}
		k.conn = c
		k.stats.Connections++
		close(k.connCh)
		k.mu.Unlock()
		k.wg.Go(func() { k.readLoop(c) })
	}
}

// readLoop takes the daemon's replies until it closes the device.
func (k *Kernel) readLoop(c *net.UnixConn) {
	buf := make([]byte, MsgSize+1)
	for {
		n, err := c.Read(buf)
		if err != nil || n == 0 {
			break
		}
		k.deliver(append([]byte(nil), buf[:n]...))
	}
	c.Close()
	k.mu.Lock()
	k.conn = nil
	k.connCh = make(chan struct{})
	if k.cur != nil {
		close(k.cur.reply) // the daemon went away mid-transaction
		k.cur = nil
	}
	k.mu.Unlock()
}

func (k *Kernel) deliver(b []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(b) != MsgSize {
		k.stats.BadReplies++
		return
	}
	msgid := binary.LittleEndian.Uint64(b[8:])
	if k.cur == nil || k.cur.msgid != msgid {
		k.stats.LateReplies++
		k.log.Warn("late or unexpected reply dropped", "msgid", msgid)
		return
	}
	k.cur.reply <- b
	k.cur = nil
}

// Close stops listening, closes the daemon's connection and waits.
func (k *Kernel) Close() error {
	k.mu.Lock()
	k.closed = true
	if k.conn != nil {
		k.conn.Close()
	}
	k.mu.Unlock()
	err := k.ln.Close()
	k.wg.Wait()
	return err
}
