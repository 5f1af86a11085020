package vf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Runner runs one command from an argument vector, never through a
// shell. argv[0] is found through PATH unless it contains a slash (the
// per-interface override script). It returns standard output; a command
// that ran and failed returns an error wrapping *ExitError.
type Runner interface {
	Run(ctx context.Context, argv []string) (string, error)
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Argv   []string
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: exit status %d", strings.Join(e.Argv, " "), e.Code)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// commandTimeout bounds every command: ifconfig and sysctl return at
// once, a synchronous dhclient may take a while.
const commandTimeout = 60 * time.Second

// waitDelay is how long a command's output pipes may stay open after it
// exited or was killed: a child it left running (a daemon started by an
// override script, rc.subr's helpers) must not hold the action forever.
const waitDelay = 2 * time.Second

// ExecRunner runs commands with os/exec.
type ExecRunner struct {
	// Timeout bounds each command; 0 means 60 s.
	Timeout time.Duration
}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, argv []string) (string, error) {
	if len(argv) == 0 {
		return "", errors.New("vf: empty command")
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = commandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// It exited 0; only a child it left behind still holds the pipe.
		err = nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), &ExitError{Argv: argv, Code: ee.ExitCode(), Stderr: limit(stderr.String(), 512)}
	}
	if err != nil {
		return "", fmt.Errorf("vf: run %s: %w", argv[0], err)
	}
	return stdout.String(), nil
}

func limit(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// CommandSysctl reads sysctls by running "sysctl -n NAME" through PATH:
// how hvagent reads them on systems without native sysctl access, and
// how the Linux tests substitute a fake kernel.
type CommandSysctl struct {
	Runner Runner
}

// Sysctl implements Sysctl. FreeBSD's sysctl(8) exits non-zero with
// "unknown oid" for a missing name; any failure of the command is taken
// as that, since the value is unknowable either way.
func (c CommandSysctl) Sysctl(name string) (string, error) {
	out, err := c.Runner.Run(context.Background(), []string{"sysctl", "-n", name})
	var ee *ExitError
	if errors.As(err, &ee) {
		return "", fmt.Errorf("%w: %s", ErrNoSysctl, name)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(out, "\n"), nil
}
