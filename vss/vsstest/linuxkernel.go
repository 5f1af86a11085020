package vsstest

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Wire values of the Linux kernel's struct hv_vss_msg
// (include/uapi/linux/hyperv.h; drivers/hv/hv_snapshot.c), written here
// apart from package vss so the fake checks the agent's bytes.
const (
	LinuxMsgSize     = 12         // sizeof(struct hv_vss_msg), packed
	LinuxOpHotBackup = 2          // VSS_OP_HOT_BACKUP
	LinuxOpFreeze    = 5          // VSS_OP_FREEZE
	LinuxOpThaw      = 6          // VSS_OP_THAW
	LinuxOpRegister1 = 129        // VSS_OP_REGISTER1
	HVSOK            = 0          // HV_S_OK
	HVEFail          = 0x80004005 // HV_E_FAIL, include/linux/hyperv.h
)

// Linux's reply timeouts (hv_snapshot.c, vss_send_op): VSS_FREEZE_TIMEOUT
// for FREEZE, HV_UTIL_TIMEOUT (hyperv_vmbus.h) for the others.
const (
	LinuxFreezeTimeout = 900 * time.Second
	LinuxUtilTimeout   = 30 * time.Second
)

// LinuxKernelOptions configure a LinuxKernel. A zero timeout means the
// kernel's.
type LinuxKernelOptions struct {
	FreezeTimeout time.Duration
	Timeout       time.Duration // THAW and HOT_BACKUP
	Logger        *slog.Logger
}

// LinuxKernelStats counts what the LinuxKernel saw.
type LinuxKernelStats struct {
	Connections int // daemons that connected
	Registered  int // REGISTER1 handshakes completed
	Rejected    int // connections refused while one was open (EBUSY)
	Requests    int // requests handed to the daemon
	Timeouts    int // transactions failed for want of a reply in time
	Dropped     int // writes the kernel refuses with EINVAL: wrong size, nothing outstanding, too late
}

// LinuxKernel is a simulated Linux kernel behind /dev/vmbus/hv_vss,
// speaking the socket transport's Linux datagrams (hvagent(8),
// --vss.protocol): the daemon's first datagram must be a 12-byte
// REGISTER1, which the kernel answers with the 4-byte u32 129; no request
// is sent before that. Requests are 12 bytes with only byte 0 set; a
// reply is 12 bytes whose first four are the HRESULT the host gets. As
// vss_on_msg does, a reply of the wrong size, with no request
// outstanding, or after the timeout is refused (EINVAL on the device,
// dropped here and counted), and a request the daemon does not answer in
// time fails with HV_E_FAIL.
type LinuxKernel struct {
	path string
	ln   *net.UnixListener
	opts LinuxKernelOptions
	sem  chan struct{} // one transaction at a time
	wg   sync.WaitGroup

	mu         sync.Mutex
	conn       *net.UnixConn
	registered bool
	regCh      chan struct{} // closed when a daemon has registered
	cur        chan uint32   // the outstanding request's reply, nil if none
	stats      LinuxKernelStats
	closed     bool
}

// NewLinuxKernel listens on path and serves daemons until Close.
func NewLinuxKernel(path string, opts LinuxKernelOptions) (*LinuxKernel, error) {
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("vsstest: listen on %s: %w", path, err)
	}
	if opts.FreezeTimeout <= 0 {
		opts.FreezeTimeout = LinuxFreezeTimeout
	}
	if opts.Timeout <= 0 {
		opts.Timeout = LinuxUtilTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	k := &LinuxKernel{path: path, ln: ln, opts: opts, sem: make(chan struct{}, 1), regCh: make(chan struct{})}
	k.wg.Go(k.acceptLoop)
	return k, nil
}

// Path is the socket the daemon connects to (its --vss.device).
func (k *LinuxKernel) Path() string { return k.path }

// Stats returns a copy of the counters.
func (k *LinuxKernel) Stats() LinuxKernelStats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stats
}

// WaitConnected returns once a daemon has registered.
func (k *LinuxKernel) WaitConnected(ctx context.Context) error {
	k.mu.Lock()
	ch := k.regCh
	k.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNoPeer, ctx.Err())
	}
}

func (k *LinuxKernel) acceptLoop() {
	for {
		c, err := k.ln.AcceptUnix()
		if err != nil {
			return
		}
		k.mu.Lock()
		if k.conn != nil || k.closed {
			k.stats.Rejected++
			k.mu.Unlock()
			c.Close()
			continue
		}
		k.conn = c
		k.stats.Connections++
		k.mu.Unlock()
		k.wg.Go(func() { k.readLoop(c) })
	}
}

// readLoop takes the daemon's writes until it closes the device: first
// the handshake, then replies.
func (k *LinuxKernel) readLoop(c *net.UnixConn) {
	buf := make([]byte, LinuxMsgSize+1)
	for {
		n, err := c.Read(buf)
		if err != nil || n == 0 {
			break
		}
		k.write(buf[:n])
	}
	c.Close()
	k.mu.Lock()
	k.conn = nil
	if k.registered {
		k.registered = false
		k.regCh = make(chan struct{})
	}
	if k.cur != nil {
		close(k.cur) // closing un-registers: the host gets HV_E_FAIL
		k.cur = nil
	}
	k.mu.Unlock()
}

// write is one write(2) of the daemon on the device: vss_on_msg.
func (k *LinuxKernel) write(b []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case len(b) != LinuxMsgSize:
		k.stats.Dropped++
		k.opts.Logger.Warn("write of the wrong size refused (EINVAL)", "bytes", len(b))
	case !k.registered && b[0] == LinuxOpRegister1:
		answer := make([]byte, 4)
		binary.LittleEndian.PutUint32(answer, LinuxOpRegister1)
		if _, err := k.conn.Write(answer); err != nil {
			return
		}
		k.registered = true
		k.stats.Registered++
		close(k.regCh)
	case !k.registered:
		k.stats.Dropped++
		k.opts.Logger.Warn("write before REGISTER1 refused (EINVAL)", "op", b[0])
	case k.cur == nil:
		k.stats.Dropped++
		k.opts.Logger.Warn("reply with no request outstanding refused (EINVAL)")
	default:
		k.cur <- binary.LittleEndian.Uint32(b) // buffered
		k.cur = nil
	}
}

// Transact sends one request (LinuxOpHotBackup, LinuxOpFreeze or
// LinuxOpThaw) and returns the HRESULT the host gets: the daemon's error
// field, or HV_E_FAIL with an error when no daemon is registered (the
// kernel fails these at once), the daemon went away, or it did not reply
// within the operation's timeout.
func (k *LinuxKernel) Transact(ctx context.Context, op byte) (uint32, error) {
	select {
	case k.sem <- struct{}{}:
	case <-ctx.Done():
		return HVEFail, ctx.Err()
	}
	defer func() { <-k.sem }()
	k.mu.Lock()
	if k.conn == nil || !k.registered {
		k.mu.Unlock()
		return HVEFail, ErrNoPeer
	}
	reply := make(chan uint32, 1)
	k.cur = reply
	k.stats.Requests++
	req := make([]byte, LinuxMsgSize)
	req[0] = op
	_, err := k.conn.Write(req)
	k.mu.Unlock()
	if err != nil {
		_, _ = k.withdraw(reply, false)
		return HVEFail, fmt.Errorf("%w: %w", ErrGone, err)
	}
	timeout := k.opts.Timeout
	if op == LinuxOpFreeze {
		timeout = k.opts.FreezeTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case e, ok := <-reply:
		if !ok {
			return HVEFail, ErrGone
		}
		return e, nil
	case <-timer.C:
		if e, ok := k.withdraw(reply, true); ok {
			return e, nil
		}
		return HVEFail, ErrTimeout
	case <-ctx.Done():
		if e, ok := k.withdraw(reply, false); ok {
			return e, nil
		}
		return HVEFail, ctx.Err()
	}
}

// withdraw ends the outstanding request without an answer, unless the
// answer came first (then it is returned): a reply that comes later has
// nothing to answer (vss_timeout_func resets the state).
func (k *LinuxKernel) withdraw(reply chan uint32, timeout bool) (uint32, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur != reply {
		e, ok := <-reply // answered, or closed by the daemon's close
		return e, ok
	}
	k.cur = nil
	if timeout {
		k.stats.Timeouts++
	}
	return 0, false
}

// Close stops listening, closes the daemon's connection and waits.
func (k *LinuxKernel) Close() error {
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
