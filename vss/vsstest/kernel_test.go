package vsstest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func newKernel(t *testing.T, opts KernelOptions) *Kernel {
	t.Helper()
	dir, err := os.MkdirTemp("", "vsst")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	k, err := NewKernel(filepath.Join(dir, "k.sock"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// daemon is a minimal daemon: it answers each request with answer(req),
// or not at all when answer returns nil. It records the ops it saw.
type daemon struct {
	conn net.Conn
	mu   sync.Mutex
	ops  []uint32
}

func startDaemon(t *testing.T, k *Kernel, answer func(req []byte) []byte) *daemon {
	t.Helper()
	c, err := net.Dial("unixpacket", k.Path())
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{conn: c}
	go func() {
		buf := make([]byte, 128)
		for {
			n, err := c.Read(buf)
			if err != nil || n == 0 {
				return
			}
			req := append([]byte(nil), buf[:n]...)
			d.mu.Lock()
			d.ops = append(d.ops, binary.LittleEndian.Uint32(req))
			d.mu.Unlock()
			if r := answer(req); r != nil {
				c.Write(r)
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := k.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

// ok answers success with the request's op and msgid.
func ok(req []byte) []byte {
	r := append([]byte(nil), req...)
	binary.LittleEndian.PutUint32(r[4:], StatusSuccess)
	return r
}

func TestBackupCycle(t *testing.T) {
	k := newKernel(t, KernelOptions{})
	d := startDaemon(t, k, ok)
	steps := (&Host{K: k, Pause: time.Millisecond}).Backup(context.Background())
	if !OK(steps) {
		t.Fatalf("backup: %+v", steps)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if want := []uint32{OpCheck, OpFreeze, OpThaw}; len(d.ops) != 3 || d.ops[0] != want[0] || d.ops[1] != want[1] || d.ops[2] != want[2] {
		t.Errorf("daemon saw ops %v, want %v", d.ops, want)
	}
}

func TestBackupStopsAfterFailedCheck(t *testing.T) {
	k := newKernel(t, KernelOptions{})
	startDaemon(t, k, func(req []byte) []byte {
		r := ok(req)
		binary.LittleEndian.PutUint32(r[4:], StatusFailure)
		return r
	})
	steps := (&Host{K: k}).Backup(context.Background())
	if len(steps) != 1 || steps[0].Status != StatusFailure || OK(steps) {
		t.Fatalf("steps %+v, want one failed CHECK", steps)
	}
}

func TestTimeoutDropsLateReply(t *testing.T) {
	k := newKernel(t, KernelOptions{Timeout: 50 * time.Millisecond})
	release := make(chan struct{})
	startDaemon(t, k, func(req []byte) []byte { <-release; return ok(req) })
	st, err := k.Transact(context.Background(), OpFreeze)
	if !errors.Is(err, ErrTimeout) || st != StatusFailure {
		t.Fatalf("Transact = %d, %v; want failure, ErrTimeout", st, err)
	}
	close(release)
	waitStats(t, k, func(s KernelStats) bool { return s.LateReplies > 0 })
	if s := k.Stats(); s.LateReplies != 1 || s.Timeouts != 1 || s.Expired != 0 || s.Stray != 0 {
		t.Errorf("stats %+v, want one timeout and one late reply", s)
	}
}

// A request that times out while the daemon is still busy with an earlier
// one is never handed over: hv_vss_timeout takes it off the notify queue,
// so poll reports nothing. Only the agent's own auto-thaw can end a
// freeze whose THAW was lost this way.
func TestRequestTimedOutUnreadIsNeverHanded(t *testing.T) {
	k := newKernel(t, KernelOptions{Timeout: 50 * time.Millisecond})
	release := make(chan struct{})
	d := startDaemon(t, k, func(req []byte) []byte {
		if binary.LittleEndian.Uint32(req) == OpFreeze {
			<-release // a FREEZE that takes longer than the kernel waits
		}
		return ok(req)
	})
	if _, err := k.Transact(context.Background(), OpFreeze); !errors.Is(err, ErrTimeout) {
		t.Fatalf("FREEZE: %v, want ErrTimeout", err)
	}
	if _, err := k.Transact(context.Background(), OpThaw); !errors.Is(err, ErrTimeout) {
		t.Fatalf("THAW: %v, want ErrTimeout", err)
	}
	close(release)
	waitStats(t, k, func(s KernelStats) bool { return s.LateReplies > 0 })
	if st, err := k.Transact(context.Background(), OpCheck); err != nil || st != StatusSuccess {
		t.Fatalf("CHECK after the lost THAW: %d, %v", st, err)
	}
	if s := k.Stats(); s.Requests != 2 || s.Timeouts != 2 || s.Expired != 1 || s.LateReplies != 1 {
		t.Errorf("stats %+v, want 2 handed over, 2 timeouts, 1 expired unread, 1 late reply", s)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if want := []uint32{OpFreeze, OpCheck}; len(d.ops) != 2 || d.ops[0] != want[0] || d.ops[1] != want[1] {
		t.Errorf("daemon saw ops %v, want %v: the timed-out THAW must never arrive", d.ops, want)
	}
}

// The zero-filled read: opt HV_VSS_NONE, status VSS_FAIL, msgid 0, the
// rest zero. A reply to it answers nothing and is counted as stray.
func TestTimedOutRead(t *testing.T) {
	want := make([]byte, MsgSize)
	want[4] = StatusFailure
	if got := TimedOutRead(); !bytes.Equal(got, want) {
		t.Fatalf("TimedOutRead = %x, want %x", got, want)
	}
	k := newKernel(t, KernelOptions{})
	got := make(chan []byte, 1)
	startDaemon(t, k, func(req []byte) []byte {
		if binary.LittleEndian.Uint32(req) == OpNone {
			got <- req
		}
		return ok(req) // a daemon that wrongly answers everything
	})
	if err := k.SendTimedOut(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("daemon read %x, want %x", b, want)
	}
	waitStats(t, k, func(s KernelStats) bool { return s.Stray > 0 })
	if st, err := k.Transact(context.Background(), OpCheck); err != nil || st != StatusSuccess {
		t.Fatalf("CHECK after a zero-filled read: %d, %v", st, err)
	}
	if s := k.Stats(); s.ZeroFilled != 1 || s.Stray != 1 || s.Requests != 1 {
		t.Errorf("stats %+v, want 1 zero-filled read, 1 stray reply, 1 request", s)
	}
}

// waitStats polls until cond holds, for at most 10 s (a hang detector).
func waitStats(t *testing.T, k *Kernel, cond func(KernelStats) bool) {
	t.Helper()
	for range 1000 {
		if cond(k.Stats()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stats %+v: condition never met", k.Stats())
}

func TestSecondOpenRefused(t *testing.T) {
	k := newKernel(t, KernelOptions{})
	startDaemon(t, k, ok)
	c, err := net.Dial("unixpacket", k.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := c.Read(make([]byte, 64)); n != 0 {
		t.Errorf("second connection read %d bytes, want EOF", n)
	}
	if got := k.Stats().Rejected; got != 1 {
		t.Errorf("rejected %d, want 1", got)
	}
	if st, err := k.Transact(context.Background(), OpCheck); err != nil || st != StatusSuccess {
		t.Errorf("first daemon no longer served: %d, %v", st, err)
	}
}

func TestOneTransactionAtATime(t *testing.T) {
	k := newKernel(t, KernelOptions{})
	var mu sync.Mutex
	outstanding, most := 0, 0
	startDaemon(t, k, func(req []byte) []byte {
		mu.Lock()
		outstanding++
		most = max(most, outstanding)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		outstanding--
		mu.Unlock()
		return ok(req)
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if st, err := k.Transact(context.Background(), OpCheck); err != nil || st != StatusSuccess {
				t.Errorf("Transact: %d, %v", st, err)
			}
		})
	}
	wg.Wait()
	if most != 1 {
		t.Errorf("%d requests were outstanding at once, want 1", most)
	}
}

func TestBadReplyIsCountedAndIgnored(t *testing.T) {
	k := newKernel(t, KernelOptions{Timeout: 100 * time.Millisecond})
	startDaemon(t, k, func(req []byte) []byte { return req[:10] }) // wrong size
	if _, err := k.Transact(context.Background(), OpThaw); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Transact: %v, want ErrTimeout", err)
	}
	if got := k.Stats().BadReplies; got != 1 {
		t.Errorf("bad replies %d, want 1", got)
	}
}

func TestDaemonGoneMidTransaction(t *testing.T) {
	k := newKernel(t, KernelOptions{})
	var d *daemon
	d = startDaemon(t, k, func([]byte) []byte { d.conn.Close(); return nil })
	start := time.Now()
	if _, err := k.Transact(context.Background(), OpFreeze); !errors.Is(err, ErrGone) {
		t.Fatalf("Transact: %v, want ErrGone", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("noticed the close only after %s", el)
	}
	for i := 0; k.Connected() && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if k.Connected() {
		t.Error("still connected after the daemon closed")
	}
}
