package vss

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// runSubsystem builds the subsystem from cfg (completed by testConfig)
// and serves a fresh simulated kernel with it until the test ends.
func runSubsystem(t *testing.T, cfg Config, opts vsstest.KernelOptions) (*vsstest.Kernel, *Service, *Metrics) {
	t.Helper()
	dir, err := os.MkdirTemp("", "vss") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	k, err := vsstest.NewKernel(filepath.Join(dir, "vss.sock"), opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg, m := testConfig(cfg)
	cfg.Device = k.Path()
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

func TestSubsystemBackupCycle(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": ""})
	k, svc, _ := runSubsystem(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}}, vsstest.KernelOptions{})
	h := &vsstest.Host{K: k, Pause: 10 * time.Millisecond}
	if steps := h.Backup(context.Background()); !vsstest.OK(steps) {
		t.Fatalf("backup failed: %+v", steps)
	}
	if got := hookLog(t, logf); len(got) != 2 {
		t.Errorf("hooks ran %q, want freeze and thaw", got)
	}

	// A second open is refused while the agent holds the device.
	c, err := net.Dial("unixpacket", k.Path())
	if err == nil {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := c.Read(make([]byte, 64))
		c.Close()
		if n != 0 {
			t.Errorf("second connection read %d bytes, want EOF", n)
		}
	}
	for i := 0; k.Stats().Rejected == 0 && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := k.Stats().Rejected; got != 1 {
		t.Errorf("rejected %d connections, want 1", got)
	}

	// A read the kernel zero-filled because its request timed out gets no
	// reply.
	if err := k.SendTimedOut(); err != nil {
		t.Fatal(err)
	}
	if st, err := k.Transact(context.Background(), vsstest.OpCheck); err != nil || st != vsstest.StatusSuccess {
		t.Fatalf("CHECK after a zero-filled read: %v, %v", st, err)
	}
	if s := k.Stats(); s.Stray != 0 || s.LateReplies != 0 || s.BadReplies != 0 {
		t.Errorf("stats %+v: the agent answered the zero-filled read", s)
	}
	if svc.Frozen() {
		t.Error("froze for a zero-filled read")
	}

	// Datagrams of the wrong size are dropped; the agent goes on.
	for _, n := range []int{1, 63, 65, 7430} {
		if err := k.SendRaw(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := k.Transact(context.Background(), vsstest.OpCheck); err != nil || st != vsstest.StatusSuccess {
		t.Fatalf("CHECK after wrong-size datagrams: %v, %v", st, err)
	}
	if s := k.Stats(); s.Stray != 0 || s.LateReplies != 0 || s.BadReplies != 0 {
		t.Errorf("stats %+v: the agent answered a wrong-size datagram", s)
	}
}

// A FREEZE that outlasts the kernel's timeout: the kernel fails it to the
// host and ignores the agent's late reply. The host's THAW, read once the
// agent is free again, thaws.
func TestSubsystemLateFreezeReplyIgnored(t *testing.T) {
	release := filepath.Join(t.TempDir(), "release")
	dir, _ := hookDir(t, map[string]string{"10-slow": waitForFile(release)})
	k, svc, _ := runSubsystem(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}}, vsstest.KernelOptions{Timeout: 200 * time.Millisecond})
	st, err := k.Transact(context.Background(), vsstest.OpFreeze)
	if !errors.Is(err, vsstest.ErrTimeout) || st != vsstest.StatusFailure {
		t.Fatalf("slow FREEZE: %v, %v; want failure, ErrTimeout", st, err)
	}
	touch(t, release)
	waitFor(t, "the late FREEZE reply", func() bool { return k.Stats().LateReplies > 0 })
	if !svc.Frozen() {
		t.Fatal("the late FREEZE did not complete")
	}
	if st, err := k.Transact(context.Background(), vsstest.OpThaw); err != nil || st != vsstest.StatusSuccess {
		t.Fatalf("THAW: %v, %v", st, err)
	}
	if svc.Frozen() {
		t.Error("still frozen after THAW")
	}
	if s := k.Stats(); s.LateReplies != 1 || s.Expired != 0 || s.Stray != 0 {
		t.Errorf("stats %+v, want one late reply", s)
	}
}

// The THAW times out while the agent is still busy with the FREEZE: the
// kernel withdraws it, so the agent never sees it, and only the auto-thaw
// at --vss.max-frozen ends the freeze (hv_vss_timeout in
// sys/dev/hyperv/utilities/hv_snapshot.c).
func TestSubsystemLostThawEndsAtMaxFrozen(t *testing.T) {
	release := filepath.Join(t.TempDir(), "release")
	dir, logf := hookDir(t, map[string]string{"10-slow": waitForFile(release)})
	k, svc, m := runSubsystem(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}, MaxFrozen: 300 * time.Millisecond},
		vsstest.KernelOptions{Timeout: 100 * time.Millisecond})
	if _, err := k.Transact(context.Background(), vsstest.OpFreeze); !errors.Is(err, vsstest.ErrTimeout) {
		t.Fatalf("FREEZE: %v, want ErrTimeout", err)
	}
	if _, err := k.Transact(context.Background(), vsstest.OpThaw); !errors.Is(err, vsstest.ErrTimeout) {
		t.Fatalf("THAW: %v, want ErrTimeout", err)
	}
	touch(t, release)
	waitFor(t, "the late FREEZE reply", func() bool { return k.Stats().LateReplies > 0 })
	waitFor(t, "the auto-thaw", func() bool { return !svc.Frozen() })
	if got := testutil.ToFloat64(m.AutoThaws.WithLabelValues(autoMaxFrozen)); got != 1 {
		t.Errorf("auto-thaws %v, want 1", got)
	}
	if got, want := hookLog(t, logf), []string{"10-slow freeze", "10-slow thaw"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hook runs (-want +got):\n-%q\n+%q", want, got)
	}
	if s := k.Stats(); s.Requests != 1 || s.Expired != 1 || s.LateReplies != 1 || s.Stray != 0 {
		t.Errorf("stats %+v, want 1 request handed over, the THAW expired unread, 1 late reply", s)
	}
}

// waitForFile is a hook body that, on freeze, waits until the test
// creates file, so the FREEZE outlasts the kernel's timeout by as long as
// the test needs.
func waitForFile(file string) string {
	return fmt.Sprintf(`if [ "$1" = freeze ]; then while [ ! -e %s ]; do sleep 0.05; done; fi`, file)
}

func touch(t *testing.T, file string) {
	t.Helper()
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for at most 10 s (a hang detector).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("waited 10 s for %s", what)
}

// The kernel side goes away while frozen (the socket peer closes; on
// FreeBSD a device error): Run thaws, thaw hooks included, before it
// returns the error the supervisor restarts it on.
func TestSubsystemPeerGoneWhileFrozenThaws(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": ""})
	sock, err := os.MkdirTemp("", "vss")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sock) })
	k, err := vsstest.NewKernel(filepath.Join(sock, "vss.sock"), vsstest.KernelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := testConfig(Config{Device: k.Path(), Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}})
	sub := New(cfg)
	svc := sub.Service()
	t.Cleanup(func() { svc.Shutdown("test over") })
	done := make(chan error, 1)
	go func() { done <- sub.Run(context.Background(), &agent.Env{Log: slog.New(slog.DiscardHandler)}) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := k.Transact(ctx, vsstest.OpFreeze); err != nil || st != vsstest.StatusSuccess {
		t.Fatalf("FREEZE: %v, %v", st, err)
	}
	k.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Run returned nil after losing the device")
		}
	case <-ctx.Done():
		t.Fatal("Run did not return after the peer closed")
	}
	if svc.Frozen() {
		t.Error("still frozen after Run returned")
	}
	if got, want := hookLog(t, logf), []string{"10-a freeze", "10-a thaw"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hook runs (-want +got):\n-%q\n+%q", want, got)
	}
}
