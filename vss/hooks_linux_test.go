package vss

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hvagent/hvagent/internal/command"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// A hook stuck in the kernel, where SIGKILL does not reach it (here: it
// writes to a filesystem the test froze, an uninterruptible wait), is
// given up on shortly after its timeout instead of being waited for: the
// hooks run holding the lock that THAW, the auto-thaw and the shutdown
// need.
func TestHookStuckInKernelIsLeftBehind(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\necho stuck > %s/f\n", mnt)
	if err := os.WriteFile(filepath.Join(dir, "10-stuck"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := Freeze([]Target{{Dir: mnt}}, 5*time.Second, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			if _, err := f.Thaw(5 * time.Second); err != nil {
				t.Errorf("thaw: %v", err)
			}
		}
	}
	t.Cleanup(thaw)
	h := &Hooks{Dir: dir, Timeout: 200 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() {
		_, err := h.Run(context.Background(), []string{"10-stuck"}, HookFreeze, true)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, command.ErrLeftBehind) {
			t.Errorf("stuck hook: %v, want %v", err, command.ErrLeftBehind)
		}
	case <-time.After(30 * time.Second): // a hang detector, not a performance bound
		t.Error("Hooks.Run still waiting for a hook stuck in the kernel")
	}
	thaw() // lets the hook finish; it is reaped in the background
}
