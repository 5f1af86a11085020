//go:build unix

package chardev_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/internal/chardev/chardevtest"
	"github.com/hvagent/hvagent/internal/msgio"
)

// The subsystems use a LinuxDevice as their transport.
var _ msgio.Transport = (*chardev.LinuxDevice)(nil)

// The tests speak a protocol of the drivers' shape: 16-byte messages, a
// handshake whose answer is 4 bytes (as hv_snapshot.c answers
// VSS_OP_REGISTER1), requests whose reply echoes the first byte.
const (
	msgSize  = 16
	regOp    = 129
	hangTime = 20 * time.Second // only bounds a test that would otherwise hang
)

func handshake(msg []byte) ([]byte, error) {
	if msg[0] != regOp {
		return nil, unix.EINVAL
	}
	return binary.LittleEndian.AppendUint32(nil, regOp), nil
}

func newModel(t *testing.T, present bool, timeout time.Duration) *chardevtest.LinuxDevice {
	t.Helper()
	m := chardevtest.NewLinuxDevice(chardevtest.LinuxOptions{
		Path: chardev.LinuxVSSPath, MsgSize: msgSize, ExactSize: true,
		Timeout: timeout, Present: present, Handshake: handshake,
	})
	t.Cleanup(func() { m.Close() })
	return m
}

func opts() chardev.LinuxOptions {
	return chardev.LinuxOptions{MsgSize: msgSize, PollInterval: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
}

// open opens the model's device and registers as a daemon would.
func open(t *testing.T, m *chardevtest.LinuxDevice) *chardev.LinuxDevice {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTime)
	defer cancel()
	d, err := chardev.OpenLinux(ctx, m.Sys(), chardev.LinuxVSSPath, opts())
	if err != nil {
		t.Fatalf("OpenLinux: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	reg := make([]byte, msgSize)
	reg[0] = regOp
	if err := d.Write(reg); err != nil {
		t.Fatalf("register: %v", err)
	}
	buf := make([]byte, msgSize)
	n, err := d.Read(ctx, buf)
	if err != nil || n != 4 || binary.LittleEndian.Uint32(buf) != regOp {
		t.Fatalf("handshake answer: %d bytes %x, %v; want 4 bytes, %d", n, buf[:n], err, regOp)
	}
	if !m.Registered() {
		t.Fatal("the model does not count the daemon registered after reading the answer")
	}
	return d
}

// request posts a request from the host side and returns where its
// answer will arrive.
func request(m *chardevtest.LinuxDevice, op byte) <-chan result {
	ch := make(chan result, 1)
	go func() {
		msg := make([]byte, msgSize)
		msg[0] = op
		ctx, cancel := context.WithTimeout(context.Background(), hangTime)
		defer cancel()
		r, err := m.Request(ctx, msg, 0)
		ch <- result{r, err}
	}()
	return ch
}

type result struct {
	reply []byte
	err   error
}

// serve reads one request and answers it with its first byte.
func serve(t *testing.T, d *chardev.LinuxDevice) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTime)
	defer cancel()
	buf := make([]byte, msgSize)
	n, err := d.Read(ctx, buf)
	if err != nil || n != msgSize {
		t.Fatalf("Read = %d, %v; want %d bytes", n, err, msgSize)
	}
	reply := make([]byte, msgSize)
	reply[0] = buf[0]
	if err := d.Write(reply); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangTime)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLinuxServes(t *testing.T) {
	m := newModel(t, true, 0)
	d := open(t, m)
	for op := byte(1); op <= 3; op++ {
		ch := request(m, op)
		serve(t, d)
		if r := <-ch; r.err != nil || r.reply[0] != op {
			t.Fatalf("request %d: reply %x, %v", op, r.reply, r.err)
		}
	}
	st := m.Stats()
	if st.OpenFlags != unix.O_RDWR|unix.O_CLOEXEC {
		t.Errorf("open flags %#x, want O_RDWR|O_CLOEXEC (%#x)", st.OpenFlags, unix.O_RDWR|unix.O_CLOEXEC)
	}
	if st.SleptReads != 0 {
		t.Errorf("%d reads slept in the driver; a read must follow POLLIN", st.SleptReads)
	}
	if st.Replies != 3 || st.Registrations != 1 {
		t.Errorf("stats %+v, want 3 replies and 1 registration", st)
	}
}

// TestLinuxLateNode: the node appears after the agent starts; OpenLinux
// waits for it through the Sys's node watch, announcing the wait once.
func TestLinuxLateNode(t *testing.T) {
	m := newModel(t, false, 0)
	o := opts()
	o.Backoff, o.MaxBackoff = time.Hour, time.Hour // only the watch can end the wait
	waiting := make(chan error, 10)
	o.Waiting = func(_ string, err error) { waiting <- err }
	done := make(chan error, 1)
	go func() {
		d, err := chardev.OpenLinux(context.Background(), m.Sys(), chardev.LinuxVSSPath, o)
		if err == nil {
			d.Close()
		}
		done <- err
	}()
	if err := <-waiting; !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Waiting called with %v, want ENOENT", err)
	}
	m.Appear()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("OpenLinux after the node appeared: %v", err)
		}
	case <-time.After(hangTime):
		t.Fatal("OpenLinux still waits after the node appeared")
	}
	if len(waiting) != 0 {
		t.Errorf("Waiting called %d more times; once is enough", len(waiting))
	}
	if st := m.Stats(); st.Opens != 1 || st.Watches == 0 {
		t.Errorf("stats %+v, want 1 open after at least one watch", st)
	}
}

func TestLinuxOpenEnds(t *testing.T) {
	t.Run("context ends while the node is missing", func(t *testing.T) {
		m := newModel(t, false, 0)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		if _, err := chardev.OpenLinux(ctx, m.Sys(), chardev.LinuxVSSPath, opts()); !errors.Is(err, context.Canceled) {
			t.Fatalf("OpenLinux = %v, want context.Canceled", err)
		}
	})
	t.Run("busy", func(t *testing.T) {
		m := newModel(t, true, 0)
		open(t, m)
		_, err := chardev.OpenLinux(context.Background(), m.Sys(), chardev.LinuxVSSPath, opts())
		if !errors.Is(err, chardev.ErrBusy) {
			t.Fatalf("second OpenLinux = %v, want ErrBusy", err)
		}
		if st := m.Stats(); st.Refused != 1 {
			t.Errorf("%d opens refused, want 1", st.Refused)
		}
	})
	t.Run("permission is final", func(t *testing.T) {
		_, err := chardev.OpenLinux(context.Background(), busySys{err: unix.EACCES}, chardev.LinuxVSSPath, opts())
		if !errors.Is(err, unix.EACCES) || errors.Is(err, chardev.ErrBusy) {
			t.Fatalf("OpenLinux = %v, want EACCES at once", err)
		}
	})
}

// busySys fails every open with err.
type busySys struct {
	chardev.Sys
	err error
}

func (b busySys) Open(string, int) (int, error) { return -1, b.err }

// TestLinuxReadOnlyAfterPollIn: a Read with nothing queued ends with its
// context and never enters the driver's read, which would sleep there
// whatever O_NONBLOCK says. The control shows that the model does sleep a
// read that comes first, so a Read that read before polling would hang
// here and fail the test.
func TestLinuxReadOnlyAfterPollIn(t *testing.T) {
	t.Run("control: a read first sleeps in the driver", func(t *testing.T) {
		m := newModel(t, true, 0)
		open(t, m)
		sys := m.Sys()
		fd, err := sys.Open(chardev.LinuxVSSPath, unix.O_RDWR|unix.O_NONBLOCK)
		if !errors.Is(err, unix.EBUSY) {
			t.Fatalf("open beside the daemon = %d, %v; want EBUSY", fd, err)
		}
		// Read on the daemon's own descriptor, as a careless daemon
		// would: it sleeps until the model ends.
		done := make(chan error, 1)
		go func() {
			_, err := sys.Read(3, make([]byte, msgSize))
			done <- err
		}()
		waitUntil(t, "the read sleeps in the driver", func() bool { return m.SleepingReads() == 1 })
		m.Close()
		if err := <-done; !errors.Is(err, unix.EIO) {
			t.Fatalf("sleeping read after the model ended = %v, want EIO", err)
		}
	})
	t.Run("Read waits in poll", func(t *testing.T) {
		m := newModel(t, true, 0)
		d := open(t, m)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := d.Read(ctx, make([]byte, msgSize))
			done <- err
		}()
		time.Sleep(50 * time.Millisecond) // a few polls
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Read = %v, want context.Canceled", err)
			}
		case <-time.After(hangTime):
			m.Close() // wakes the sleeping read, so that the cleanup's Close can end
			t.Fatal("Read did not return after its context ended: it sleeps in the driver's read")
		}
		if st := m.Stats(); st.SleptReads != 0 {
			t.Fatalf("%d reads slept in the driver", st.SleptReads)
		}
		ch := request(m, 7)
		serve(t, d)
		if r := <-ch; r.err != nil || r.reply[0] != 7 {
			t.Fatalf("request after the cancelled Read: %x, %v", r.reply, r.err)
		}
	})
}

// TestLinuxSmallBuffer: hvt_op_read refuses a buffer smaller than the
// message with EINVAL and keeps the message; LinuxDevice refuses such a
// buffer before any system call.
func TestLinuxSmallBuffer(t *testing.T) {
	m := newModel(t, true, 0)
	d := open(t, m)
	if _, err := d.Read(context.Background(), make([]byte, msgSize-1)); err == nil {
		t.Fatal("Read with a short buffer succeeded")
	}
	sys := m.Sys()
	ch := request(m, 9)
	if r, err := sys.Poll(3, chardev.PollIn, hangTime); err != nil || r&chardev.PollIn == 0 {
		t.Fatalf("poll = %#x, %v; want POLLIN", r, err)
	}
	if _, err := sys.Read(3, make([]byte, msgSize-1)); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("model read with a short buffer = %v, want EINVAL", err)
	}
	if r, _ := sys.Poll(3, chardev.PollIn, 0); r&chardev.PollIn == 0 {
		t.Fatal("the message was not left queued after EINVAL")
	}
	serve(t, d)
	if r := <-ch; r.err != nil || r.reply[0] != 9 {
		t.Fatalf("reply %x, %v", r.reply, r.err)
	}
	if r, _ := sys.Poll(3, chardev.PollIn|chardev.PollRdNorm, 0); r != 0 {
		t.Fatalf("poll after the read = %#x, want 0 (POLLIN clears on read, never POLLOUT)", r)
	}
}

// TestLinuxTeardownReopen: the host withdraws the service. Poll reports
// POLLERR|POLLHUP, Read closes the descriptor at once and returns ErrGone,
// the teardown (which waits for that close) completes and the node goes;
// the next open waits until the node comes back and must register again.
func TestLinuxTeardownReopen(t *testing.T) {
	m := newModel(t, true, 0)
	d := open(t, m)
	torn := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangTime)
		defer cancel()
		torn <- m.Teardown(ctx)
	}()
	_, err := d.Read(context.Background(), make([]byte, msgSize))
	if !errors.Is(err, chardev.ErrGone) {
		t.Fatalf("Read during teardown = %v, want ErrGone", err)
	}
	if err := <-torn; err != nil {
		t.Fatalf("Teardown = %v: the descriptor was not closed", err)
	}
	if m.IsOpen() || m.Present() {
		t.Fatal("after the teardown the device is still open or the node still there")
	}
	if err := d.Write(make([]byte, msgSize)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after ErrGone = %v, want the closed error", err)
	}

	reopened := make(chan *chardev.LinuxDevice, 1)
	waiting := make(chan struct{})
	o := opts()
	o.Waiting = func(string, error) { close(waiting) }
	go func() {
		d, err := chardev.OpenLinux(context.Background(), m.Sys(), chardev.LinuxVSSPath, o)
		if err != nil {
			t.Errorf("reopen: %v", err)
		}
		reopened <- d
	}()
	<-waiting
	m.Appear()
	d2 := <-reopened
	if d2 == nil {
		return
	}
	defer d2.Close()
	if m.Registered() {
		t.Fatal("registered without a new handshake")
	}
	d2.Close()
	d3 := open(t, m)
	ch := request(m, 4)
	serve(t, d3)
	if r := <-ch; r.err != nil {
		t.Fatalf("request after the reopen: %v", r.err)
	}
}

// TestLinuxTeardownWhileIdle: a teardown while the daemon waits in Read
// wakes it through poll, not through a read.
func TestLinuxTeardownWhileIdle(t *testing.T) {
	m := newModel(t, true, 0)
	d := open(t, m)
	done := make(chan error, 1)
	go func() {
		_, err := d.Read(context.Background(), make([]byte, msgSize))
		done <- err
	}()
	time.Sleep(30 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), hangTime)
	defer cancel()
	if err := m.Teardown(ctx); err != nil {
		t.Fatalf("Teardown = %v", err)
	}
	if err := <-done; !errors.Is(err, chardev.ErrGone) {
		t.Fatalf("Read = %v, want ErrGone", err)
	}
	if st := m.Stats(); st.SleptReads != 0 || st.Teardowns != 1 {
		t.Fatalf("stats %+v, want no slept read and 1 teardown", st)
	}
}

// TestLinuxTransactionGone: a reply the driver refuses with EINVAL (after
// the deadline, or with nothing outstanding) is ErrTransactionGone; the
// caller closes, reopens and registers, and is served again.
func TestLinuxTransactionGone(t *testing.T) {
	m := newModel(t, true, 50*time.Millisecond)
	d := open(t, m)

	if err := d.Write(make([]byte, msgSize)); !errors.Is(err, chardev.ErrTransactionGone) {
		t.Fatalf("reply with nothing outstanding = %v, want ErrTransactionGone", err)
	}

	ch := request(m, 5)
	buf := make([]byte, msgSize)
	if _, err := d.Read(context.Background(), buf); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; !errors.Is(r.err, chardevtest.ErrTimeout) {
		t.Fatalf("host side = %x, %v; want ErrTimeout", r.reply, r.err)
	}
	err := d.Write(buf)
	if !errors.Is(err, chardev.ErrTransactionGone) || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("late reply = %v, want ErrTransactionGone wrapping EINVAL", err)
	}
	if errors.Is(err, chardev.ErrGone) {
		t.Fatal("a refused reply is not a vanished device")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = open(t, m)
	ch = request(m, 6)
	serve(t, d)
	if r := <-ch; r.err != nil || r.reply[0] != 6 {
		t.Fatalf("after the reopen: %x, %v", r.reply, r.err)
	}
	if st := m.Stats(); st.RefusedWrites != 2 || st.Timeouts != 1 || st.Registrations != 2 {
		t.Fatalf("stats %+v, want 2 refused writes, 1 timeout, 2 registrations", st)
	}
}

// TestLinuxCloseUnregisters: closing with a request outstanding fails it
// on the host side (the drivers' on_reset answers HV_E_FAIL), and the
// device can be opened again at once.
func TestLinuxCloseUnregisters(t *testing.T) {
	m := newModel(t, true, 0)
	d := open(t, m)
	ch := request(m, 8)
	if _, err := d.Read(context.Background(), make([]byte, msgSize)); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if r := <-ch; !errors.Is(r.err, chardevtest.ErrReset) {
		t.Fatalf("host side after close = %v, want ErrReset", r.err)
	}
	if m.Registered() {
		t.Fatal("still registered after close")
	}
	open(t, m)
}

// TestLinuxLateReplyAnswersNext pins the hazard the KVP and VSS
// subsystems avoid by never replying late: once the next request is
// posted, the driver takes a late reply as that request's answer.
func TestLinuxLateReplyAnswersNext(t *testing.T) {
	m := newModel(t, true, 50*time.Millisecond)
	d := open(t, m)
	ch := request(m, 1)
	buf := make([]byte, msgSize)
	if _, err := d.Read(context.Background(), buf); err != nil {
		t.Fatal(err)
	}
	<-ch // timed out
	ch = request(m, 2)
	waitUntil(t, "the next request is posted", func() bool { return m.Stats().Requests == 2 })
	if err := d.Write(buf); err != nil { // the reply to request 1
		t.Fatalf("late reply with the next request posted = %v, want accepted", err)
	}
	if r := <-ch; r.err != nil || r.reply[0] != 1 {
		t.Fatalf("request 2 got %x, %v; want request 1's reply", r.reply, r.err)
	}
}
