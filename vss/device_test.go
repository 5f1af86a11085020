//go:build unix

package vss_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/vss"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// expireAfterPoll is the driver's timeout firing between the daemon's
// poll and its IOCHVVSSREAD.
// When armed is set, it fires once and disarms; nil means always.
type expireAfterPoll struct {
	chardev.Sys
	dev   *vsstest.Device
	armed *atomic.Bool
}

func (s expireAfterPoll) Poll(fd int, events int16, timeout time.Duration) (int16, error) {
	r, err := s.Sys.Poll(fd, events, timeout)
	if r&chardev.PollIn != 0 && (s.armed == nil || s.armed.CompareAndSwap(true, false)) {
		s.dev.Expire()
	}
	return r, err
}

type transaction struct {
	status uint32
	err    error
}

func transact(dev *vsstest.Device, op uint32) <-chan transaction {
	ch := make(chan transaction, 1)
	go func() {
		st, err := dev.Transact(context.Background(), op)
		ch <- transaction{st, err}
	}()
	return ch
}

// TestDeviceTimedOutReadIsZeroFilled: a request the driver timed out
// before IOCHVVSSREAD reads as opt 0, status 1, msgid 0, never as the
// original operation, and the host got a failure.
func TestDeviceTimedOutReadIsZeroFilled(t *testing.T) {
	dev := vsstest.NewDevice(time.Minute)
	defer dev.Close()
	tr, err := vss.OpenVia(expireAfterPoll{dev.Sys(), dev, nil}, vsstest.DevicePath)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res := transact(dev, vsstest.OpThaw)
	buf := make([]byte, vss.MsgSize)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if n, err := tr.Read(ctx, buf); err != nil || n != vss.MsgSize {
		t.Fatalf("Read = %d, %v", n, err)
	}
	m, err := vss.Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	if m.Op != 0 || m.Status != vss.StatusFailure || m.MsgID != 0 {
		t.Fatalf("timed-out read = %+v, want opt 0, status 1, msgid 0", m)
	}
	for _, b := range buf[16:] {
		if b != 0 {
			t.Fatalf("reserved bytes not zero: % x", buf)
		}
	}
	if r := <-res; !errors.Is(r.err, vsstest.ErrTimeout) {
		t.Fatalf("host: %d, %v; want ErrTimeout", r.status, r.err)
	}
	if s := dev.Stats(); s.EmptyReads != 1 {
		t.Fatalf("stats %+v, want one empty read", s)
	}
}

// TestDeviceTransaction: a request is read with its operation and msgid,
// the reply reaches the host; a reply after the request's timeout is
// accepted by the ioctl and ignored; a second open is busy.
func TestDeviceTransaction(t *testing.T) {
	dev := vsstest.NewDevice(time.Minute)
	defer dev.Close()
	tr, err := vss.OpenVia(dev.Sys(), vsstest.DevicePath)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := vss.OpenVia(dev.Sys(), vsstest.DevicePath); !errors.Is(err, vss.ErrBusy) {
		t.Fatalf("second open: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	read := func() vss.Msg {
		t.Helper()
		buf := make([]byte, vss.MsgSize)
		if _, err := tr.Read(ctx, buf); err != nil {
			t.Fatal(err)
		}
		m, err := vss.Decode(buf)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	res := transact(dev, vsstest.OpCheck)
	m := read()
	if m.Op != vss.OpCheck || m.Status != vss.StatusSuccess || m.MsgID == 0 {
		t.Fatalf("read %+v, want CHECK with a msgid", m)
	}
	if err := tr.Write(vss.Reply(m, vss.StatusSuccess).Encode()); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.err != nil || r.status != vsstest.StatusSuccess {
		t.Fatalf("host: %d, %v", r.status, r.err)
	}

	res = transact(dev, vsstest.OpFreeze)
	m = read()
	if !dev.Expire() {
		t.Fatal("no outstanding request to expire")
	}
	if err := tr.Write(vss.Reply(m, vss.StatusSuccess).Encode()); err != nil {
		t.Fatalf("late reply: %v; the driver accepts it", err)
	}
	if r := <-res; !errors.Is(r.err, vsstest.ErrTimeout) {
		t.Fatalf("host after a late reply: %d, %v; want ErrTimeout", r.status, r.err)
	}
	if s := dev.Stats(); s.LateReplies != 1 || s.Timeouts != 1 {
		t.Fatalf("stats %+v, want one late reply and one timeout", s)
	}
}

// TestDeviceBackupCycle runs the real VSS subsystem on the driver model:
// CHECK, FREEZE and THAW are read with IOCHVVSSREAD and answered with
// IOCHVVSSWRITE, each within its timeout; then a zero-filled read (a
// request the driver timed out) is skipped without a reply and the
// subsystem keeps serving.
func TestDeviceBackupCycle(t *testing.T) {
	dev := vsstest.NewDevice(time.Minute)
	defer dev.Close()
	var armed atomic.Bool
	sub := vss.New(vss.Config{
		Device: vsstest.DevicePath,
		OpenTransport: func(context.Context) (vss.Transport, error) {
			return vss.OpenVia(expireAfterPoll{dev.Sys(), dev, &armed}, vsstest.DevicePath)
		},
		Metrics:    vss.NewMetrics(prometheus.NewRegistry()),
		ReadMounts: func() ([]vss.Mount, error) { return []vss.Mount{{Dir: "/z", Type: "zfs", Source: "zroot/z"}}, nil },
		SyncPools:  func(context.Context, []string) error { return nil },
	})
	defer sub.Service().Shutdown("test over")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx, &agent.Env{Log: slog.New(slog.DiscardHandler)}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	tctx, tcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer tcancel()
	for _, op := range []uint32{vsstest.OpCheck, vsstest.OpFreeze, vsstest.OpThaw} {
		if st, err := dev.Transact(tctx, op); err != nil || st != vsstest.StatusSuccess {
			t.Fatalf("op %d: status %d, %v", op, st, err)
		}
	}
	// A CHECK whose timeout fires between the agent's poll and its read.
	armed.Store(true)
	res := transact(dev, vsstest.OpCheck)
	if r := <-res; !errors.Is(r.err, vsstest.ErrTimeout) {
		t.Fatalf("expired CHECK: %d, %v", r.status, r.err)
	}
	if st, err := dev.Transact(tctx, vsstest.OpCheck); err != nil || st != vsstest.StatusSuccess {
		t.Fatalf("CHECK after a timed-out request: %d, %v", st, err)
	}
	if s := dev.Stats(); s.LateReplies != 0 || s.Timeouts != 1 || s.EmptyReads != 1 {
		t.Fatalf("stats %+v: every request but the expired one answered in time, one zero-filled read", s)
	}
}
