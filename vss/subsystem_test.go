package vss

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// runSubsystem serves svc to a fresh simulated kernel until the test ends.
func runSubsystem(t *testing.T, svc *Service, opts vsstest.KernelOptions) *vsstest.Kernel {
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sub := &Subsystem{Device: k.Path(), Service: svc}
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
	return k
}

func TestSubsystemBackupCycle(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": ""})
	svc, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}})
	k := runSubsystem(t, svc, vsstest.KernelOptions{})
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

	// A request that already timed out in the kernel gets no reply.
	if err := k.SendExpired(vsstest.OpFreeze); err != nil {
		t.Fatal(err)
	}
	if st, err := k.Transact(context.Background(), vsstest.OpCheck); err != nil || st != vsstest.StatusSuccess {
		t.Fatalf("CHECK after an expired request: %v, %v", st, err)
	}
	if s := k.Stats(); s.LateReplies != 0 || s.BadReplies != 0 {
		t.Errorf("stats %+v: the agent answered the expired request", s)
	}
	if svc.Frozen() {
		t.Error("froze for an expired request")
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
	if s := k.Stats(); s.LateReplies != 0 || s.BadReplies != 0 {
		t.Errorf("stats %+v: the agent answered a wrong-size datagram", s)
	}
}

func TestSubsystemLateFreezeReplyDropped(t *testing.T) {
	dir, _ := hookDir(t, map[string]string{"10-slow": `if [ "$1" = freeze ]; then sleep 1; fi`})
	svc, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}})
	k := runSubsystem(t, svc, vsstest.KernelOptions{Timeout: 200 * time.Millisecond})
	st, err := k.Transact(context.Background(), vsstest.OpFreeze)
	if !errors.Is(err, vsstest.ErrTimeout) || st != vsstest.StatusFailure {
		t.Fatalf("slow FREEZE: %v, %v; want failure, ErrTimeout", st, err)
	}
	// The agent finishes the freeze and replies late: the kernel drops
	// the reply. The host's THAW then thaws.
	for i := 0; k.Stats().LateReplies == 0 && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := k.Stats().LateReplies; got != 1 {
		t.Fatalf("late replies %d, want 1", got)
	}
	if !svc.Frozen() {
		t.Fatal("the late FREEZE did not complete")
	}
	if st, err := k.Transact(context.Background(), vsstest.OpThaw); err != nil || st != vsstest.StatusSuccess {
		t.Fatalf("THAW: %v, %v", st, err)
	}
	if svc.Frozen() {
		t.Error("still frozen after THAW")
	}
}
