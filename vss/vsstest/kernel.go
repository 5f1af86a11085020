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

// Wire values of struct hv_vss_opt_msg (hv_snapshot.h: enum hv_vss_op_t,
// VSS_SUCCESS, VSS_FAIL).
const (
	MsgSize       = 64
	OpNone        = 0 // HV_VSS_NONE: the opt of a zero-filled read
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
	Requests    int // requests handed to the daemon
	Timeouts    int // transactions failed for want of a reply in time
	Expired     int // of those, requests that timed out before the daemon read them: never handed over
	ZeroFilled  int // zero-filled reads handed over (SendTimedOut)
	LateReplies int // replies to a request that had timed out after the daemon read it: accepted, ignored
	Stray       int // replies to no request the daemon holds, such as to a zero-filled read: ignored
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
	cur    *txn // the transaction the host waits on
	posted *txn // waiting for the daemon to be free to read it
	held   *txn // read by the daemon and not answered yet
	stats  KernelStats
	closed bool
}

// txn is one request. reply gets the daemon's answer, or is closed when
// the daemon goes away; after expired, an answer is late.
type txn struct {
	op, msgid uint64
	reply     chan []byte
	answered  bool
	expired   bool
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
	if t := k.cur; t != nil && !t.answered {
		close(t.reply) // the daemon went away mid-transaction
		t.answered = true
	}
	k.cur, k.posted, k.held = nil, nil, nil
	k.mu.Unlock()
}

// deliver takes one reply, the IOCHVVSSWRITE of hv_vss_daemon_acked: it
// answers the request the daemon holds if the msgid matches, and is
// ignored otherwise. Either way the daemon is free to read again.
func (k *Kernel) deliver(b []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(b) != MsgSize {
		k.stats.BadReplies++
		return
	}
	msgid := binary.LittleEndian.Uint64(b[8:])
	t := k.held
	switch {
	case t == nil || t.msgid != msgid:
		k.stats.Stray++
		k.log.Warn("reply to no request the daemon holds: ignored", "msgid", msgid)
		return
	case t.expired:
		k.stats.LateReplies++
		k.log.Warn("late reply accepted and ignored", "msgid", msgid)
	default:
		t.answered = true
		t.reply <- b // buffered: never blocks
		k.cur = nil
	}
	k.held = nil
	if p := k.posted; p != nil {
		k.posted = nil
		_ = k.handLocked(p) // on error readLoop sees the connection fail

	}
}

// handLocked writes t to the daemon: its IOCHVVSSREAD. Called with k.mu
// held and a daemon connected.
func (k *Kernel) handLocked(t *txn) error {
	k.held = t
	k.stats.Requests++
	_, err := k.conn.Write(Encode(uint32(t.op), StatusSuccess, t.msgid))
	if err != nil {
		k.log.Warn("request not written", "msgid", t.msgid, "err", err)
	}
	return err
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
