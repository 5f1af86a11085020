package netinfo

import (
	"bytes"
	"context"
	"os/exec"
	"syscall"
	"time"
)

// Runner runs one command given as an argument vector, with stdin (nil:
// none) as its standard input, and returns its combined output. argv[0] is looked up on PATH (rc.d sets it; tests put
// fakes there). There is never a shell in between.
type Runner func(ctx context.Context, argv []string, stdin []byte) ([]byte, error)

// waitDelay is how long a command's output is waited for after it was
// killed or exited: a grandchild still holding the pipe (a dhclient
// started by service(8)) must not hold up the request.
const waitDelay = 200 * time.Millisecond

// ExecRunner is the Runner of the running system. Each command runs in a
// process group of its own, and when ctx ends the whole group is killed,
// so a shell script (rc.d, sysrc) cannot leave children running past
// the deadline.
func ExecRunner(ctx context.Context, argv []string, stdin []byte) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	out := &cappedBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	return out.b.Bytes(), err
}

// maxOutput is how much of a command's output is kept, for the log: a
// command that writes without end cannot grow the agent's memory.
const maxOutput = 16 << 10

// cappedBuffer keeps the first max bytes written to it and discards the
// rest, telling the writer all went well so that it does not die of
// EPIPE. exec.Cmd serialises writes when Stdout and Stderr are the same.
type cappedBuffer struct {
	b   bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
