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
	return cmd.CombinedOutput()
}
