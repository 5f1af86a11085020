//go:build unix

package kvp_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// waitUntil polls cond until it holds; the deadline only bounds a test
// that would otherwise hang, it is not what the test measures.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func newDevice(t *testing.T, timeout time.Duration) *kvptest.Device {
	t.Helper()
	d := kvptest.NewDevice(kvptest.DeviceOptions{Timeout: timeout})
	t.Cleanup(func() { d.Close() })
	return d
}

// TestLegacyReadLoopWedges replays the read loop hvagent had before it
// used pread: REGISTER with write(2), then poll and read(2) into a
// 7431-byte buffer, dropping a message of the wrong size. Against the
// driver's semantics the first read returns 1 byte (the file offset is
// 7430 after the REGISTER write), the drop leaves daemon_busy set, poll
// keeps reporting POLLIN, and the second read sleeps in sema_wait with a
// reply owed: wedged, and the host's request fails after the deadline.
func TestLegacyReadLoopWedges(t *testing.T) {
	dev := newDevice(t, 200*time.Millisecond)
	sys := dev.Sys()
	fd, err := sys.Open(kvptest.DevicePath, 2 /* O_RDWR */)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Write(fd, kvp.EncodeRegister("1.0")); err != nil {
		t.Fatal(err)
	}
	host := kvptest.NewHost(dev)
	hostErr := make(chan error, 1)
	go func() {
		_, _, err := host.Get(context.Background(), kvp.PoolGuest, "k")
		hostErr <- err
	}()

	legacyRead := func() (int, error) {
		for {
			r, err := sys.Poll(fd, chardev.PollIn, 50*time.Millisecond)
			if err != nil {
				return 0, err
			}
			if r&chardev.PollIn == 0 {
				continue
			}
			return sys.Read(fd, make([]byte, kvp.ReadBufSize))
		}
	}
	n, err := legacyRead()
	if err != nil || n != 1 {
		t.Fatalf("first read(2) after the REGISTER write = %d, %v; the driver returns 1 byte", n, err)
	}
	// The legacy loop dropped that message and read again.
	second := make(chan error, 1)
	go func() {
		_, err := legacyRead()
		second <- err
	}()
	waitUntil(t, "the second read sleeps in the driver", func() bool { return dev.Sleeping() > 0 })
	if !dev.Wedged() {
		t.Fatal("a read sleeps while a reply is owed, but the model does not call it wedged")
	}
	if err := <-hostErr; !errors.Is(err, kvptest.ErrTimeout) {
		t.Fatalf("host request while wedged: %v, want ErrTimeout", err)
	}
	select {
	case err := <-second:
		t.Fatalf("the wedged read returned (%v)", err)
	default:
	}
	dev.Close() // the model lets the sleeping read go; the real driver never does
	if err := <-second; err == nil {
		t.Fatal("read after Close succeeded")
	}
}

type subsystemRun struct {
	sub  *kvp.Subsystem
	done chan error
	stop context.CancelFunc
}

// runSubsystem runs the real KVP subsystem on the device model. The
// subsystem opens its pools once its device exists, so a file stands in
// for the device node; the transport is the model's.
func runSubsystem(t *testing.T, dev *kvptest.Device) *subsystemRun {
	t.Helper()
	dir := t.TempDir()
	node := filepath.Join(dir, "hv_kvp_dev")
	if err := os.WriteFile(node, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := kvp.New(kvp.Config{
		Device: node, Version: "1.0", PoolDir: filepath.Join(dir, "pool"),
		LookupFQDN: func(context.Context) string { return "guest.example" },
		OpenTransport: func(context.Context) (kvp.Transport, error) {
			return kvp.OpenVia(dev.Sys(), kvptest.DevicePath, "1.0")
		},
	})
	t.Cleanup(func() { sub.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	r := &subsystemRun{sub: sub, done: make(chan error, 1), stop: cancel}
	go func() { r.done <- sub.Run(ctx, &agent.Env{Log: slog.New(slog.DiscardHandler)}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run after cancel: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

// TestDeviceHostSession: the agent answers every request of a simulated
// host session over the device model: the push on registration, SET,
// GET, DELETE and full enumerations, with no timeout, no short read and
// never a read while a reply is owed.
func TestDeviceHostSession(t *testing.T) {
	dev := newDevice(t, kvptest.DefaultTimeout)
	runSubsystem(t, dev)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dev.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	host := kvptest.NewHost(dev)
	if err := host.PushOnConnect(ctx, kvptest.DefaultParams("vm1"), []kvp.KeyValue{{ValueType: kvp.RegSZ, Key: "admin", Value: "1"}}); err != nil {
		t.Fatalf("push: %v", err)
	}
	for i, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}} {
		if st, err := host.Set(ctx, kvp.PoolGuest, kv[0], kv[1]); err != nil || st != kvp.StatusOK {
			t.Fatalf("SET %d: %s, %v", i, st, err)
		}
	}
	if v, st, err := host.Get(ctx, kvp.PoolGuest, "b"); err != nil || st != kvp.StatusOK || v != "2" {
		t.Fatalf("GET b = %q, %s, %v; want 2", v, st, err)
	}
	if st, err := host.Delete(ctx, kvp.PoolGuest, "a"); err != nil || st != kvp.StatusOK {
		t.Fatalf("DELETE a: %s, %v", st, err)
	}
	items, st, err := host.Enumerate(ctx, kvp.PoolGuest)
	if err != nil || st != kvp.StatusCont || len(items) != 2 {
		t.Fatalf("enumerate pool 1 = %v, %s, %v; want 2 items and HV_S_CONT", items, st, err)
	}
	auto, st, err := host.Enumerate(ctx, kvp.PoolAuto)
	if err != nil || st != kvp.StatusCont || len(auto) != 10 {
		t.Fatalf("enumerate pool 2: %d items, %s, %v; want 10 and HV_S_CONT", len(auto), st, err)
	}
	params, _, err := host.Enumerate(ctx, kvp.PoolAutoExternal)
	if err != nil || len(params) != len(kvptest.DefaultParams("vm1")) {
		t.Fatalf("enumerate pool 3: %d items, %v", len(params), err)
	}
	s := dev.Stats()
	if s.Timeouts != 0 || s.ShortReads != 0 || s.LateReplies != 0 || s.Undelivered != 0 {
		t.Fatalf("device stats %+v: every request must be answered in time with whole reads", s)
	}
	if s.Requests < 20 {
		t.Fatalf("only %d requests posted", s.Requests)
	}
	if dev.Wedged() {
		t.Fatal("device wedged")
	}
}

// TestDeviceUnexpectedSizeAnswered: a read of an unexpected size is
// answered HV_E_FAIL at once, not left to wedge the driver, and the next
// request is served.
func TestDeviceUnexpectedSizeAnswered(t *testing.T) {
	dev := newDevice(t, kvptest.DefaultTimeout)
	runSubsystem(t, dev)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	host := kvptest.NewHost(dev)
	if err := dev.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	dev.TruncateNextRead(100)
	_, st, err := host.Get(ctx, kvp.PoolGuest, "k")
	if err == nil && st != kvp.StatusFail {
		t.Fatalf("GET after a 100-byte read: %s, want HV_E_FAIL", st)
	}
	if errors.Is(err, kvptest.ErrTimeout) {
		t.Fatalf("GET after a 100-byte read timed out: the read was not answered")
	}
	if st, err := host.Set(ctx, kvp.PoolGuest, "k", "v"); err != nil || st != kvp.StatusOK {
		t.Fatalf("SET after the short read: %s, %v", st, err)
	}
	if s := dev.Stats(); s.ShortReads != 1 || s.Timeouts != 0 {
		t.Fatalf("stats %+v, want 1 short read and no timeout", s)
	}
}

// TestDeviceRefusedReplyNotRestart: a reply the driver refuses with
// EINVAL (an operation it does not convert back) is logged; the agent
// keeps the device open and serves the next request.
func TestDeviceRefusedReplyNotRestart(t *testing.T) {
	dev := newDevice(t, kvptest.DefaultTimeout)
	run := runSubsystem(t, dev)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dev.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	unknown := make([]byte, kvp.MsgSize)
	unknown[0] = 9 // no such operation
	r, err := dev.DoRaw(ctx, unknown)
	if err != nil || kvp.Status(uint32(r[0])|uint32(r[1])<<8|uint32(r[2])<<16|uint32(r[3])<<24) != kvp.StatusNotSupported {
		t.Fatalf("unknown operation: %v (reply % x)", err, r[:4])
	}
	if st, err := kvptest.NewHost(dev).Set(ctx, kvp.PoolGuest, "k", "v"); err != nil || st != kvp.StatusOK {
		t.Fatalf("SET after a refused reply: %s, %v", st, err)
	}
	select {
	case err := <-run.done:
		t.Fatalf("Run returned after a refused reply: %v", err)
	default:
	}
	if s := dev.Stats(); s.Registrations != 1 {
		t.Fatalf("%d registrations: the agent reopened the device", s.Registrations)
	}
}

// TestDeviceTransport checks the transport's own rules: a second open is
// busy, and a second read while a reply is owed is refused rather than
// left to sleep in the driver.
func TestDeviceTransport(t *testing.T) {
	dev := newDevice(t, time.Second)
	tr, err := kvp.OpenVia(dev.Sys(), kvptest.DevicePath, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := kvp.OpenVia(dev.Sys(), kvptest.DevicePath, "1.0"); !errors.Is(err, kvp.ErrBusy) {
		t.Fatalf("second open: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go kvptest.NewHost(dev).Get(ctx, kvp.PoolGuest, "k")
	buf := make([]byte, kvp.ReadBufSize)
	if n, err := tr.Read(ctx, buf); err != nil || n != kvp.MsgSize {
		t.Fatalf("Read = %d, %v; want %d", n, err, kvp.MsgSize)
	}
	if _, err := tr.Read(ctx, buf); err == nil {
		t.Fatal("a second Read with a reply owed succeeded")
	}
	if dev.Sleeping() != 0 {
		t.Fatal("the second Read reached the driver")
	}
}
