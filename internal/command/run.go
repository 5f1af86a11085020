package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Run runs c in a process group of its own. When ctx ends or c.Timeout
// passes, the whole group is killed with SIGKILL, so that a script's
// children do not outlive it; Run then waits at most ReapWait for the
// command and returns, leaving a process stuck in the kernel to be reaped
// in the background. A command that exited 0 succeeds even if a child it
// left running still held its output after c.WaitDelay: that child is
// not killed (an rc.d script may have started a daemon on purpose).
func Run(ctx context.Context, c Cmd) Result {
	start := time.Now()
	r := run(ctx, c)
	r.Argv = c.Argv
	r.Duration = time.Since(start)
	return r
}

func run(ctx context.Context, c Cmd) Result {
	if len(c.Argv) == 0 {
		return Result{ExitCode: -1, Err: errors.New("command: empty argument vector")}
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return Result{ExitCode: -1, Err: fmt.Errorf("%s: not started: %w", strings.Join(c.Argv, " "), err)}
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	limit := c.OutputCap
	if limit <= 0 {
		limit = DefaultOutputCap
	}
	stdout, stderr := &cappedBuffer{max: limit}, &cappedBuffer{max: limit}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if c.MergeStderr {
		cmd.Stderr = stdout // exec.Cmd then writes both through one pipe
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = c.WaitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = DefaultWaitDelay
	}
	if err := cmd.Start(); err != nil {
		return Result{ExitCode: -1, Err: fmt.Errorf("%s: %w", strings.Join(c.Argv, " "), err)}
	}
	killed, err := wait(ctx, cmd)
	r := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1}
	if !killed && cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
	}
	var ee *exec.ExitError
	switch {
	case killed:
		r.Err = &ExitError{Argv: c.Argv, Code: -1, Err: err}
	case errors.As(err, &ee):
		r.Err = &ExitError{Argv: c.Argv, Code: ee.ExitCode(), state: ee.ProcessState.String()}
	case errors.Is(err, exec.ErrWaitDelay):
		// It exited 0; only a child it left behind still held the output.
	case err != nil:
		r.Err = fmt.Errorf("%s: %w", strings.Join(c.Argv, " "), err)
	}
	if ee, ok := r.Err.(*ExitError); ok {
		errOut := r.Stderr
		if c.MergeStderr {
			errOut = r.Stdout
		}
		ee.Stderr = string(errOut[:min(len(errOut), stderrInError)])
	}
	return r
}

// wait waits for the started cmd until ctx ends, then kills its process
// group and waits at most ReapWait more. killed reports that it killed
// the group; err is then ctx's error, joined with ErrLeftBehind if the
// command had not gone, else cmd.Wait's.
func wait(ctx context.Context, cmd *exec.Cmd) (killed bool, err error) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return false, err
	case <-ctx.Done():
	}
	select {
	case err := <-done: // it ended as the deadline came
		return false, err
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	t := time.NewTimer(ReapWait)
	defer t.Stop()
	select {
	case <-done:
		return true, ctx.Err()
	case <-t.C:
		return true, errors.Join(ctx.Err(), ErrLeftBehind)
	}
}

// cappedBuffer keeps the first max bytes written to it and drops the
// rest, telling the writer all went well. It may be read while a process
// left behind still writes to it.
type cappedBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (c *cappedBuffer) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.b.Bytes())
}
