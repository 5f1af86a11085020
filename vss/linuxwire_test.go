package vss

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// runLinuxSubsystem serves a fresh simulated Linux kernel with the
// subsystem built from cfg (completed by testConfig) until the test ends.
func runLinuxSubsystem(t *testing.T, cfg Config, opts vsstest.LinuxKernelOptions) (*vsstest.LinuxKernel, *Service, *Metrics) {
	t.Helper()
	dir, err := os.MkdirTemp("", "vss") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	k, err := vsstest.NewLinuxKernel(filepath.Join(dir, "vss.sock"), opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg, m := testConfig(cfg)
	cfg.Device, cfg.Protocol = k.Path(), ProtocolLinux
	sub := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx, &agent.Env{Log: slog.New(slog.DiscardHandler)}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		k.Close()
	})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := k.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	return k, sub.Service(), m
}

func linuxDo(t *testing.T, k *vsstest.LinuxKernel, op byte) uint32 {
	t.Helper()
	e, err := k.Transact(context.Background(), op)
	if err != nil {
		t.Fatalf("op %d: %v", op, err)
	}
	return e
}

// A backup cycle in the Linux protocol: HOT_BACKUP, FREEZE, THAW, each
// answered HV_S_OK; wrong-size datagrams are dropped without a reply.
func TestLinuxSubsystemBackupCycle(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": ""})
	k, svc, m := runLinuxSubsystem(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}}, vsstest.LinuxKernelOptions{})
	for _, op := range []byte{vsstest.LinuxOpHotBackup, vsstest.LinuxOpFreeze} {
		if e := linuxDo(t, k, op); e != vsstest.HVSOK {
			t.Fatalf("op %d answered %#x", op, e)
		}
	}
	if !svc.Frozen() {
		t.Error("not frozen after FREEZE")
	}
	if e := linuxDo(t, k, vsstest.LinuxOpThaw); e != vsstest.HVSOK {
		t.Fatalf("THAW answered %#x", e)
	}
	if got := hookLog(t, logf); len(got) != 2 {
		t.Errorf("hooks ran %q, want freeze and thaw", got)
	}
	for _, op := range []string{"check", "freeze", "thaw"} {
		if n := testutil.ToFloat64(m.Operations.WithLabelValues(op, resultSuccess)); n != 1 {
			t.Errorf("%s successes counted %v, want 1", op, n)
		}
	}
	if s := k.Stats(); s.Registered != 1 || s.Dropped != 0 || s.Timeouts != 0 {
		t.Errorf("kernel stats %+v", s)
	}
}

// A FREEZE that fails answers HV_E_FAIL (0x80004005), never 1; a
// HOT_BACKUP whose check fails is still answered HV_S_OK, as the C daemon
// does, and counted as a failed check.
func TestLinuxSubsystemFailures(t *testing.T) {
	k, svc, m := runLinuxSubsystem(t, Config{Policy: Policy{ZFS: ZFSIgnore}}, vsstest.LinuxKernelOptions{})
	if e := linuxDo(t, k, vsstest.LinuxOpHotBackup); e != vsstest.HVSOK {
		t.Errorf("HOT_BACKUP with nothing to freeze answered %#x, want 0", e)
	}
	if n := testutil.ToFloat64(m.Operations.WithLabelValues("check", resultFailure)); n != 1 {
		t.Errorf("failed checks counted %v, want 1", n)
	}
	if e := linuxDo(t, k, vsstest.LinuxOpFreeze); e != vsstest.HVEFail {
		t.Errorf("failed FREEZE answered %#x, want HV_E_FAIL %#x", e, uint32(vsstest.HVEFail))
	}
	if svc.Frozen() {
		t.Error("frozen after a failed FREEZE")
	}
	// An operation the kernel never forwards fails; the agent goes on.
	if e := linuxDo(t, k, 7); e != vsstest.HVEFail {
		t.Errorf("unknown operation answered %#x", e)
	}
	if e := linuxDo(t, k, vsstest.LinuxOpThaw); e != vsstest.HVSOK {
		t.Errorf("THAW with nothing frozen answered %#x", e)
	}
}

// The agent registers before it reads anything, and reads the kernel's
// answer before serving: a raw peer sees REGISTER1 first, and nothing
// else until it answers.
func TestLinuxRegisterHandshake(t *testing.T) {
	dir, err := os.MkdirTemp("", "vss")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "vss.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg, _ := testConfig(Config{Device: path, Protocol: ProtocolLinux, Policy: Policy{ZFS: ZFSSync}})
	sub := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx, &agent.Env{Log: slog.New(slog.DiscardHandler)}) }()
	c, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], append([]byte{129}, make([]byte, 11)...)) {
		t.Fatalf("first datagram % x (%v), want REGISTER1 in 12 bytes", buf[:n], err)
	}
	// A request before the answer is not what the kernel does; the agent
	// must still be waiting for the answer, so a wrong answer fails it.
	bad := make([]byte, 4)
	binary.LittleEndian.PutUint32(bad, 128)
	if _, err := c.Write(bad); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, errRegister) {
			t.Errorf("Run after a wrong answer: %v, want a registration error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still serving after a wrong register answer")
	}
	cancel()
}

func TestLinuxWire(t *testing.T) {
	for b, want := range map[byte]Op{2: OpCheck, 5: OpFreeze, 6: OpThaw} {
		req := make([]byte, LinuxMsgSize)
		req[0] = b
		got, err := ProtocolLinux.decode(req)
		if err != nil || got != (Msg{Op: want}) {
			t.Errorf("decode op %d: %+v, %v; want %v", b, got, err, want)
		}
	}
	if m, _ := ProtocolLinux.decode(append([]byte{7}, make([]byte, 11)...)); m.Op.String() != "unknown" {
		t.Errorf("op 7 decoded as %v", m.Op)
	}
	if _, err := ProtocolLinux.decode(make([]byte, 13)); err == nil {
		t.Error("13 bytes decoded")
	}
	if got, want := ProtocolLinux.encode(Msg{Op: OpFreeze}, StatusFailure), []byte{0x05, 0x40, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(got, want) {
		t.Errorf("failure reply % x, want % x", got, want)
	}
	if got := ProtocolLinux.encode(Msg{Op: OpCheck}, StatusSuccess); !bytes.Equal(got, make([]byte, 12)) {
		t.Errorf("success reply % x, want 12 zero bytes", got)
	}
	for _, s := range []string{"freebsd", "linux"} {
		p, err := ParseProtocol(s)
		if err != nil || p.String() != s {
			t.Errorf("ParseProtocol(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseProtocol("windows"); err == nil {
		t.Error("ParseProtocol accepted windows")
	}
	if ProtocolLinux.DefaultDevice() != "/dev/vmbus/hv_vss" || ProtocolFreeBSD.DefaultDevice() != "/dev/hv_fsvss_dev" {
		t.Error("default devices differ from the kernels'")
	}
}

func FuzzLinuxDecode(f *testing.F) {
	for _, b := range []byte{2, 5, 6, 129, 0} {
		f.Add(append([]byte{b}, make([]byte, 11)...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeLinux(b)
		if (err == nil) != (len(b) == LinuxMsgSize) {
			t.Fatalf("%d bytes: err %v", len(b), err)
		}
		if err == nil && len(ProtocolLinux.encode(m, StatusFailure)) != LinuxMsgSize {
			t.Fatal("reply not 12 bytes")
		}
	})
}
