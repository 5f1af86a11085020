package fbsdnettest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/hvagent/hvagent/internal/gotool"
)

// BuildFakes builds the fake commands (package fakecmd) into dir and
// returns the binary's path, for World.Install. One small binary starts
// in milliseconds, which keeps flap-storm scenarios quick.
func BuildFakes(ctx context.Context, dir string) (string, error) {
	goBin, err := gotool.Path()
	if err != nil {
		return "", fmt.Errorf("fbsdnettest: building the fake commands: %w", err)
	}
	out := filepath.Join(dir, "fbsdnettest-fakecmd")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "github.com/hvagent/hvagent/internal/fbsdnet/fbsdnettest/fakecmd")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("fbsdnettest: building the fake commands: %v\n%s", err, b)
	}
	return out, nil
}
