package netinfo

import (
	"context"
	"os/exec"
	"time"
)

// Runner runs one command given as an argument vector and returns its
// combined output. argv[0] is looked up on PATH (rc.d sets it; tests put
// fakes there). There is never a shell in between.
type Runner func(ctx context.Context, argv []string) ([]byte, error)

// ExecRunner is the Runner of the running system.
func ExecRunner(ctx context.Context, argv []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	return cmd.CombinedOutput()
}
