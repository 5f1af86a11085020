package vf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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

// A command that exits but leaves a child holding its output pipe (an
// override script starting a daemon) must not hold the action: Run
// returns once the command itself is done. The child here blocks on a
// FIFO until the test releases it, so without the bound Run would never
// return on its own.
func TestExecRunnerDoesNotWaitForLeftoverChildren(t *testing.T) {
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
		out, err = ExecRunner{}.Run(context.Background(), []string{script, fifo})
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
			t.Errorf("Run = %v, want success: the script exited 0", err)
		}
		if out != "started\n" {
			t.Errorf("output %q, want %q", out, "started\n")
		}
	case <-time.After(30 * time.Second):
		release()
		<-done
		t.Fatal("Run waited for a child the command left behind")
	}
}

// A command that outlives its timeout is killed and reported.
func TestExecRunnerTimeout(t *testing.T) {
	script := writeScript(t, t.TempDir(), "slow", "exec sleep 60\n")
	_, err := ExecRunner{Timeout: 100 * time.Millisecond}.Run(context.Background(), []string{script})
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("Run = %v, want the killed command's ExitError", err)
	}
}
