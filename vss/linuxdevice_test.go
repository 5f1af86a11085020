//go:build unix

package vss

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/internal/chardev/chardevtest"
)

// linuxModel is the Linux driver model with hv_snapshot.c's rules:
// 12-byte messages, every write exactly 12 bytes (vss_on_msg), and the
// REGISTER1 handshake answered with the u32 129 (vss_handle_handshake).
func linuxModel(t *testing.T, present bool) *chardevtest.LinuxDevice {
	t.Helper()
	d := chardevtest.NewLinuxDevice(chardevtest.LinuxOptions{
		Path: chardev.LinuxVSSPath, MsgSize: LinuxMsgSize, ExactSize: true, Present: present,
		Handshake: func(msg []byte) ([]byte, error) {
			if msg[0] != 129 {
				return nil, unix.EINVAL
			}
			return binary.LittleEndian.AppendUint32(nil, 129), nil
		},
	})
	t.Cleanup(func() { d.Close() })
	return d
}

// supervised runs the subsystem on the model as the agent's supervisor
// would: again after every return, until the test ends. It returns the
// service and the errors the runs ended with.
func supervised(t *testing.T, d *chardevtest.LinuxDevice, cfg Config) (*Service, func() []error) {
	t.Helper()
	cfg, _ = testConfig(cfg)
	cfg.Protocol = ProtocolLinux
	cfg.OpenTransport = func(ctx context.Context) (Transport, error) {
		return OpenLinuxVia(ctx, d.Sys(), chardev.LinuxVSSPath)
	}
	sub := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var errs []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			err := sub.Run(ctx, &agent.Env{Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() { cancel(); d.Close(); <-done })
	return sub.Service(), func() []error {
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), errs...)
	}
}

func request(t *testing.T, d *chardevtest.LinuxDevice, op byte, timeout time.Duration) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msg := make([]byte, LinuxMsgSize)
	msg[0] = op
	return d.Request(ctx, msg, timeout)
}

func requireReply(t *testing.T, d *chardevtest.LinuxDevice, op byte, want uint32) {
	t.Helper()
	r, err := request(t, d, op, 0)
	if err != nil {
		t.Fatalf("op %d: %v", op, err)
	}
	if len(r) != LinuxMsgSize || binary.LittleEndian.Uint32(r) != want {
		t.Fatalf("op %d: reply % x, want error %#x in 12 bytes", op, r, want)
	}
}

func waitRegistered(t *testing.T, d *chardevtest.LinuxDevice) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.WaitRegistered(ctx); err != nil {
		t.Fatalf("not registered: %v", err)
	}
}

// The node appears after the agent started: it waits, then registers
// (REGISTER1, reading the answer) and serves a backup cycle, every read
// after POLLIN.
func TestLinuxDeviceLateNodeBackupCycle(t *testing.T) {
	d := linuxModel(t, false)
	svc, errs := supervised(t, d, Config{Policy: Policy{ZFS: ZFSSync}})
	time.Sleep(100 * time.Millisecond)
	if d.IsOpen() {
		t.Fatal("opened a node that does not exist")
	}
	d.Appear()
	waitRegistered(t, d)
	requireReply(t, d, linuxOpHotBackup, linuxSOK)
	requireReply(t, d, linuxOpFreeze, linuxSOK)
	if !svc.Frozen() {
		t.Error("not frozen after FREEZE")
	}
	requireReply(t, d, linuxOpThaw, linuxSOK)
	if s := d.Stats(); s.SleptReads != 0 || s.Registrations != 1 || s.RefusedWrites != 0 || s.OpenFlags&unix.O_CLOEXEC == 0 {
		t.Errorf("driver stats %+v", s)
	}
	if e := errs(); len(e) != 0 {
		t.Errorf("runs ended with %v", e)
	}
}

// The THAW the kernel injects before hibernation, or any reply after the
// deadline: the agent thaws, the write fails with EINVAL, and the agent
// closes, opens and registers again.
func TestLinuxDeviceRefusedReplyReopens(t *testing.T) {
	release := filepath.Join(t.TempDir(), "release")
	hooks, _ := hookDir(t, map[string]string{"10-slow-thaw": fmt.Sprintf(`if [ "$1" = thaw ]; then while [ ! -e %s ]; do sleep 0.05; done; fi`, release)})
	d := linuxModel(t, true)
	svc, errs := supervised(t, d, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: hooks}})
	waitRegistered(t, d)
	requireReply(t, d, linuxOpFreeze, linuxSOK)
	// The deadline passes while the agent is still in its thaw hook; its
	// reply comes after it.
	if _, err := request(t, d, linuxOpThaw, 100*time.Millisecond); !errors.Is(err, chardevtest.ErrTimeout) {
		t.Fatalf("THAW: %v, want the driver's timeout", err)
	}
	touch(t, release)
	for i := 0; d.Stats().Registrations < 2; i++ {
		if i == 1000 {
			t.Fatalf("not registered again; stats %+v, runs ended with %v", d.Stats(), errs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if svc.Frozen() {
		t.Error("still frozen after the refused THAW reply")
	}
	e := errs()
	if len(e) != 1 || !errors.Is(e[0], chardev.ErrTransactionGone) {
		t.Errorf("runs ended with %v, want one ErrTransactionGone", e)
	}
	requireReply(t, d, linuxOpHotBackup, linuxSOK) // served again
}

// The host withdraws the service while frozen: POLLHUP, the agent thaws
// and closes at once (the teardown waits for that), then waits for the
// node to come back and registers again.
func TestLinuxDeviceTeardownThawsAndWaits(t *testing.T) {
	d := linuxModel(t, true)
	svc, errs := supervised(t, d, Config{Policy: Policy{ZFS: ZFSSync}})
	waitRegistered(t, d)
	requireReply(t, d, linuxOpFreeze, linuxSOK)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Teardown(ctx); err != nil {
		t.Fatalf("teardown did not see the agent close: %v", err)
	}
	// The transport closes at once on POLLHUP, so the kernel's teardown
	// never waits for a thaw; the thaw and the end of Run follow it.
	waitFor(t, "the thaw after the device went away", func() bool { return !svc.Frozen() })
	waitFor(t, "the run to end", func() bool { return len(errs()) > 0 })
	if e := errs(); len(e) != 1 || !errors.Is(e[0], chardev.ErrGone) {
		t.Errorf("runs ended with %v, want one ErrGone", e)
	}
	d.Appear()
	waitRegistered(t, d)
	requireReply(t, d, linuxOpHotBackup, linuxSOK)
	if s := d.Stats(); s.SleptReads != 0 || s.Teardowns != 1 || s.Registrations != 2 {
		t.Errorf("driver stats %+v", s)
	}
}

// A second opener gets EBUSY with the Linux remedy.
func TestLinuxDeviceBusy(t *testing.T) {
	d := linuxModel(t, true)
	first, err := OpenLinuxVia(context.Background(), d.Sys(), chardev.LinuxVSSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = OpenLinuxVia(context.Background(), d.Sys(), chardev.LinuxVSSPath)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "systemctl mask --now hv-kvp-daemon.service hv-vss-daemon.service") {
		t.Errorf("second open: %v", err)
	}
}
