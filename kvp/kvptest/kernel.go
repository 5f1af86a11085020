package kvptest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

// DefaultTimeout is the FreeBSD kernel's reply deadline (tsleep 5*hz).
const DefaultTimeout = 5 * time.Second

// DefaultLinuxTimeout is the Linux kernel's: HV_UTIL_TIMEOUT, 30 s
// (drivers/hv/hyperv_vmbus.h; hv_kvp.c schedules kvp_timeout_work with it).
const DefaultLinuxTimeout = 30 * time.Second

// Errors returned by Kernel methods; test them with errors.Is.
var (
	// ErrTimeout: no reply within the deadline; the host got HV_E_FAIL.
	ErrTimeout = errors.New("kvptest: daemon did not reply in time")
	// ErrNotRegistered: the context ended before a daemon registered.
	ErrNotRegistered = errors.New("kvptest: no daemon registered")
	// ErrBusy: the daemon still owed the reply to a timed-out request, so
	// the request was not delivered (hv_kvp.c's daemon_busy); it is
	// reported together with ErrTimeout. Rejected second connections are
	// logged with it too (the EBUSY of a second open).
	ErrBusy = errors.New("kvptest: daemon busy")
	// ErrGone: the daemon closed its connection with a request outstanding.
	ErrGone = errors.New("kvptest: daemon closed the device")
	// ErrClosed: the Kernel was closed.
	ErrClosed = errors.New("kvptest: kernel closed")
)

// KernelOptions configure a Kernel.
type KernelOptions struct {
	// Protocol is the kernel simulated: FreeBSD (the zero value) or
	// Linux, whose messages are 7432 bytes, whose daemon registers with
	// REGISTER1 and reads the kernel's REGISTER1 answer, and whose GET
	// replies are read at offset 532 (see kvp.Protocol).
	Protocol kvp.Protocol
	// Timeout is the per-request reply deadline; 0 means the protocol's
	// (DefaultTimeout, DefaultLinuxTimeout).
	Timeout time.Duration
	Logger  *slog.Logger // nil discards
}

// KernelStats counts what the Kernel saw.
type KernelStats struct {
	Registrations int // successful REGISTERs
	BadRegisters  int // connections closed because the first datagram was not REGISTER
	Requests      int // request datagrams delivered to the daemon
	Timeouts      int // requests failed with HV_E_FAIL for want of a reply (busy ones included)
	LateReplies   int // replies dropped: after the deadline, or with nothing outstanding
	Rejected      int // connections refused while another was open
	BadReplies    int // datagrams of the wrong size from a registered daemon
}

// Kernel is the simulated kernel side of FreeBSD's /dev/hv_kvp_dev or
// Linux's /dev/vmbus/hv_kvp.
type Kernel struct {
	path    string
	proto   kvp.Protocol
	ln      *net.UnixListener
	timeout time.Duration
	log     *slog.Logger
	sem     chan struct{} // one transaction at a time
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup

	mu         sync.Mutex
	conn       *net.UnixConn // the open connection, registered or not
	registered bool
	regCh      chan struct{} // closed when a daemon registers
	goneCh     chan struct{} // closed when the current registration ends
	busy       bool          // the daemon owes a reply
	cur        *txn          // the transaction awaiting a reply
	stats      KernelStats
	closed     bool
}

// NewKernel listens on a unixpacket socket at path and serves daemons
// until Close.
func NewKernel(path string, opts KernelOptions) (*Kernel, error) {
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("kvptest: listen on %s: %w", path, err)
	}
	k := &Kernel{
		path:    path,
		proto:   opts.Protocol,
		ln:      ln,
		timeout: opts.Timeout,
		log:     opts.Logger,
		sem:     make(chan struct{}, 1),
		done:    make(chan struct{}),
		regCh:   make(chan struct{}),
		goneCh:  make(chan struct{}),
	}
	if k.timeout <= 0 {
		k.timeout = DefaultTimeout
		if k.proto == kvp.Linux {
			k.timeout = DefaultLinuxTimeout
		}
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	close(k.goneCh) // no registration yet
	k.wg.Go(k.acceptLoop)
	return k, nil
}

// Path returns the socket path the daemon connects to.
func (k *Kernel) Path() string { return k.path }

// Protocol returns the kernel's protocol (hvagent run --kvp.protocol).
func (k *Kernel) Protocol() kvp.Protocol { return k.proto }

// Registered reports whether a daemon is registered now.
func (k *Kernel) Registered() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.registered
}

// WaitRegistered returns once a daemon is registered, at once if one is.
// It wraps ErrNotRegistered and the context's error if ctx ends first.
func (k *Kernel) WaitRegistered(ctx context.Context) error {
	for {
		k.mu.Lock()
		ok, ch := k.registered, k.regCh
		k.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNotRegistered, ctx.Err())
		case <-k.done:
			return ErrClosed
		}
	}
}

// session returns a channel closed when the current registration ends,
// or ok false if no daemon is registered.
func (k *Kernel) session() (gone <-chan struct{}, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.goneCh, k.registered
}

func (k *Kernel) closing() <-chan struct{} { return k.done }

// Stats returns a snapshot of the counters.
func (k *Kernel) Stats() KernelStats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stats
}

// Close stops listening, closes the daemon's connection, fails pending
// requests with ErrClosed and waits for all of the Kernel's goroutines.
func (k *Kernel) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	close(k.done)
	c := k.conn
	k.mu.Unlock()
	err := k.ln.Close()
	if c != nil {
		c.Close()
	}
	k.wg.Wait()
	return err
}

func (k *Kernel) acceptLoop() {
	for {
		c, err := k.ln.AcceptUnix()
		if err != nil {
			select {
			case <-k.done:
			default:
				k.log.Error("accept failed", "err", err)
			}
			return
		}
		k.mu.Lock()
		switch {
		case k.closed:
			c.Close()
		case k.conn != nil:
			k.stats.Rejected++
			c.Close()
			k.log.Warn("second connection refused", "err", ErrBusy)
		default:
			k.conn = c
			k.wg.Go(func() { k.serve(c) })
		}
		k.mu.Unlock()
	}
}
