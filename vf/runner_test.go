package vf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hvagent/hvagent/internal/command/commandtest"
)

// writeScript writes an executable shell script into dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every command runs with vf's bounds: the 60 s timeout and the 2 s
// wait for output held by a leftover child.
func TestRunBounds(t *testing.T) {
	f := (&commandtest.Fake{}).On("sysctl -n dev.hn.0.vf", commandtest.Out("mce0\n"))
	out, err := run(context.Background(), f, "sysctl", "-n", "dev.hn.0.vf")
	if err != nil || out != "mce0\n" {
		t.Fatalf("run = %q, %v", out, err)
	}
	c := f.Cmds()[0]
	if c.Timeout != commandTimeout || c.WaitDelay != waitDelay || c.MergeStderr || c.Stdin != nil {
		t.Errorf("ran %+v, want Timeout %v, WaitDelay %v, stderr apart, no stdin", c, commandTimeout, waitDelay)
	}
}

// A command that exits but leaves a child holding its output pipe (an
// override script starting a daemon) must not hold the action: run
// returns once the command itself is done. The child here blocks on a
// FIFO until the test releases it, so without the bound run would never
// return on its own.
func TestRunDoesNotWaitForLeftoverChildren(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "release")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	script := writeScript(t, dir, "hyperv_vfup.hn0", "(read x < \"$1\") &\necho started\nexit 0\n")
	done := make(chan error, 1)
	var out string
	go func() {
		var err error
		out, err = run(context.Background(), ExecRunner{}, script, fifo)
		done <- err
	}()
	release := func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.Write([]byte("\n"))
			f.Close()
		}
	}
	select {
	case err := <-done:
		release()
		if err != nil {
			t.Errorf("run = %v, want success: the script exited 0", err)
		}
		if out != "started\n" {
			t.Errorf("output %q, want %q", out, "started\n")
		}
	case <-time.After(30 * time.Second):
		release()
		<-done
		t.Fatal("run waited for a child the command left behind")
	}
}

// A command that outlives its deadline is killed and reported, with
// every process it started: an override script's grandchild does not
// outlive the action (before issue 13, only the script itself died).
func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild.pid")
	script := writeScript(t, dir, "hyperv_vfup.hn0", `sleep 600 & echo $! > "$1"; wait`+"\n")
	// A timeout that a slow machine passes before the script started its
	// grandchild proves nothing: try again with a longer one.
	var b []byte
	for timeout := 200 * time.Millisecond; !strings.HasSuffix(string(b), "\n"); timeout *= 4 {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_, err := run(ctx, ExecRunner{}, script, pidFile)
		cancel()
		var ee *ExitError
		if !errors.As(err, &ee) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("run = %v, want the killed command's ExitError, wrapping the deadline", err)
		}
		b, _ = os.ReadFile(pidFile)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	commandtest.WaitGone(t, pid)
}
