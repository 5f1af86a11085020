package vss

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// reapWait is how long runBounded waits for a killed process to go.
const reapWait = time.Second

// errLeftBehind reports a process killed at its deadline that had not
// exited reapWait later: it is stuck in the kernel (a hung disk or NFS
// server), where not even SIGKILL reaches it until the call returns.
var errLeftBehind = errors.New("killed, but still stuck in the kernel; reaped in the background")

// runBounded runs cmd in its own process group until ctx ends, then kills
// the group. It never waits more than reapWait past ctx for the process:
// the VSS operations run holding the lock THAW, the auto-thaw and the
// shutdown need, so no child may hold them hostage, not even one that a
// SIGKILL does not end. A process left behind is reaped by a goroutine.
// It returns ctx.Err() for a process killed at the deadline.
func runBounded(ctx context.Context, cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 500 * time.Millisecond // after exit: a child holding the output
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	t := time.NewTimer(reapWait)
	defer t.Stop()
	select {
	case <-done:
		return ctx.Err()
	case <-t.C:
		return errors.Join(ctx.Err(), errLeftBehind)
	}
}

// limitedBuffer keeps the first hookOutputMax bytes written to it. It is
// safe to read while a process left behind still writes.
type limitedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := hookOutputMax - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (l *limitedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}
