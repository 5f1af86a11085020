package kvptest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

// txn is one host request. Its reply channel receives exactly one result,
// sent under k.mu by whoever clears k.cur.
type txn struct {
	sent  bool // written to the daemon; false if the daemon was busy
	reply chan result
}

type result struct {
	b   []byte
	err error
}

var errRetry = errors.New("daemon went away before the request was sent")

// Do encodes req as the kernel hands it to the daemon, sends it once a
// daemon is registered and the previous transaction is over, and decodes
// the reply. Op and Pool of the returned Msg are those of req. On error
// the Status is what the host would see: HV_E_FAIL, or for a reply that
// does not decode, the status the daemon wrote.
func (k *Kernel) Do(ctx context.Context, req kvp.Msg) (kvp.Msg, error) {
	return do(ctx, k.proto, k.DoRaw, req)
}

// do encodes req in p, sends it with doRaw and decodes the reply where
// p's kernel reads it, for Kernel and Device alike.
func do(ctx context.Context, p kvp.Protocol, doRaw func(context.Context, []byte) ([]byte, error), req kvp.Msg) (kvp.Msg, error) {
	fail := kvp.Msg{Op: req.Op, Pool: req.Pool, Status: kvp.StatusFail}
	b, err := p.EncodeRequest(req)
	if err != nil {
		return fail, fmt.Errorf("kvptest: encode %s request: %w", req.Op, err)
	}
	if req.Op == kvp.OpSet {
		// hv_kvp.c's hv_kvp_convert_hostmsg_to_usermsg does not copy
		// value_type for SET: the daemon sees 0 there.
		binary.LittleEndian.PutUint32(b[4:], 0)
	}
	rb, err := doRaw(ctx, b)
	if err != nil {
		return fail, err
	}
	m, err := p.DecodeReply(rb, req.Op)
	if err != nil {
		fail.Status = kvp.Status(binary.LittleEndian.Uint32(rb))
		return fail, fmt.Errorf("kvptest: %w", err)
	}
	m.Pool = req.Pool
	return m, nil
}

// DoRaw sends b as one datagram, with the same waiting, serialization and
// deadline as Do, and returns the raw reply. A request of the wrong size
// is sent as is; a conforming daemon answers it HV_E_FAIL, and until it
// answers it owes a reply like for any other request.
func (k *Kernel) DoRaw(ctx context.Context, b []byte) ([]byte, error) {
	select {
	case k.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("kvptest: waiting for the previous transaction: %w", ctx.Err())
	case <-k.done:
		return nil, ErrClosed
	}
	var (
		t   *txn
		c   *net.UnixConn
		err error
	)
	for {
		if err = k.WaitRegistered(ctx); err == nil {
			t, c, err = k.begin()
		}
		if err != errRetry {
			break
		}
	}
	if err != nil {
		<-k.sem
		return nil, err
	}
	if t.sent {
		c.SetWriteDeadline(time.Now().Add(k.timeout))
		if _, err := c.Write(b); err != nil {
			k.abort(t)
			<-k.sem
			return nil, fmt.Errorf("%w: %w", ErrGone, err)
		}
		k.log.Debug("request sent", "size", len(b))
	}
	timer := time.NewTimer(k.timeout)
	select {
	case r := <-t.reply:
		timer.Stop()
		<-k.sem
		return r.b, r.err
	case <-timer.C:
		r := k.expire(t)
		<-k.sem
		return r.b, r.err
	case <-k.done:
		<-k.sem
		return nil, ErrClosed
	case <-ctx.Done():
		k.detach(t, timer)
		return nil, ctx.Err()
	}
}

// begin makes t the outstanding transaction. Like hv_kvp.c, it does not
// hand the daemon a request while the daemon owes a reply.
func (k *Kernel) begin() (*txn, *net.UnixConn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, nil, ErrClosed
	}
	if !k.registered {
		return nil, nil, errRetry
	}
	t := &txn{sent: !k.busy, reply: make(chan result, 1)}
	k.cur = t
	if t.sent {
		k.stats.Requests++
		k.busy = true
	} else {
		k.log.Warn("daemon still owes a reply; request not delivered", "err", ErrBusy)
	}
	return t, k.conn, nil
}

// expire ends t at its deadline, unless a reply won the race.
func (k *Kernel) expire(t *txn) result {
	k.mu.Lock()
	if k.cur != t {
		k.mu.Unlock()
		return <-t.reply
	}
	k.cur = nil
	k.stats.Timeouts++
	k.mu.Unlock()
	k.log.Warn("request timed out; host gets HV_E_FAIL", "timeout", k.timeout, "delivered", t.sent)
	if !t.sent {
		return result{err: fmt.Errorf("%w: %w", ErrTimeout, ErrBusy)}
	}
	return result{err: ErrTimeout}
}

// abort forgets t after a failed write.
func (k *Kernel) abort(t *txn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur == t {
		k.cur = nil
		k.busy = false
	}
}

// detach keeps the transaction slot until t is answered or expires, after
// its caller gave up: the kernel does not cancel a request it handed out.
func (k *Kernel) detach(t *txn, timer *time.Timer) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		timer.Stop()
		<-k.sem
		return
	}
	k.wg.Go(func() {
		select {
		case <-t.reply:
			timer.Stop()
		case <-timer.C:
			k.expire(t)
		case <-k.done:
		}
		<-k.sem
	})
}
