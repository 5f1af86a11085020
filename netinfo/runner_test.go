package netinfo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needSh returns the path of sh(1); without one the test skips, or
// fails in CI (CI=true), which must run it.
func needSh(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but no sh:", err)
		}
		t.Skip("no sh:", err)
	}
	return sh
}

// A command's output is kept up to maxOutput: the rest is read and
// dropped, and the command is not killed for writing it.
func TestExecRunnerCapsOutput(t *testing.T) {
	sh := needSh(t)
	out, err := ExecRunner(context.Background(), []string{sh, "-c", "head -c 1000000 /dev/zero; echo done >&2"}, nil)
	if err != nil {
		t.Fatalf("%v: the command did not complete", err)
	}
	if len(out) != maxOutput {
		t.Fatalf("kept %d bytes of output, want %d", len(out), maxOutput)
	}
}

// When the deadline passes, the command's whole process group goes, not
// only the child: a script's children do not outlive the request.
func TestExecRunnerKillsProcessGroup(t *testing.T) {
	sh := needSh(t)
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// The grandchild keeps the output pipe open, as a dhclient
		// started by rc.d does.
		_, err := ExecRunner(ctx, []string{sh, "-c", `sleep 600 & echo $! > "$0"; wait`, pidFile}, nil)
		done <- err
	}()
	var pid int
	for pid == 0 {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled command succeeded")
	}
	// The grandchild, reparented, is reaped by init soon after its death;
	// until then kill(pid, 0) still finds the zombie.
	for i := 0; ; i++ {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if i == 1000 {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d still alive 10 s after the cancel (%v)", pid, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
