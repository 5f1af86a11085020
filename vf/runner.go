package vf

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hvagent/hvagent/internal/command"
)

// Runner runs commands from argument vectors, never through a shell;
// argv[0] is found through PATH unless it contains a slash (the
// per-interface override script).
type Runner = command.Runner

// ExitError is a command that ran and exited non-zero, or was killed at
// its timeout.
type ExitError = command.ExitError

// ExecRunner is the Runner of the running system.
type ExecRunner = command.Exec

const (
	// commandTimeout bounds every command: ifconfig and sysctl return at
	// once, a synchronous dhclient may take a while. At the timeout the
	// command's whole process group is killed.
	commandTimeout = 60 * time.Second
	// waitDelay is how long a command's output pipes may stay open after
	// it exited or was killed: a child it left running (a daemon started
	// by an override script, rc.subr's helpers) must not hold the action
	// forever.
	waitDelay = 2 * time.Second
)

// run runs argv through r with vf's bounds and returns its standard
// output; a command that ran and failed returns an *ExitError.
func run(ctx context.Context, r Runner, argv ...string) (string, error) {
	res := r.Run(ctx, command.Cmd{Argv: argv, Timeout: commandTimeout, WaitDelay: waitDelay})
	return string(res.Stdout), res.Err
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
	out, err := run(context.Background(), c.Runner, "sysctl", "-n", name)
	var ee *ExitError
	if errors.As(err, &ee) {
		return "", fmt.Errorf("%w: %s", ErrNoSysctl, name)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(out, "\n"), nil
}
