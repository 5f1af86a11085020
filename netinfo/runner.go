package netinfo

import (
	"context"
	"log/slog"
	"time"

	"github.com/hvagent/hvagent/internal/command"
)

// Runner runs the commands SET_IP_INFO needs; command.Exec on the
// running system, whose argv[0] is looked up on PATH (rc.d sets it; the
// end-to-end tests put fakes there).
type Runner = command.Runner

// ExecRunner is the Runner of the running system.
type ExecRunner = command.Exec

const (
	// maxOutput is how much of a command's output is kept, for the log.
	maxOutput = 16 << 10
	// waitDelay is how long a command's output is waited for after it
	// was killed or exited: a grandchild still holding the pipe (a
	// dhclient started by service(8)) must not hold up the request.
	waitDelay = 200 * time.Millisecond
)

// runIn runs argv with stdin (nil: none); its stderr and stdout come
// back in the error of a failure. When ctx ends the command's whole
// process group is killed, so a shell script (rc.d, sysrc) cannot leave
// children running past the deadline.
func (s *Service) runIn(ctx context.Context, argv []string, stdin []byte) error {
	r := s.cfg.Run.Run(ctx, command.Cmd{Argv: argv, Stdin: stdin, MergeStderr: true, OutputCap: maxOutput, WaitDelay: waitDelay})
	command.Log(ctx, s.log, slog.LevelDebug, "set_ip_info: ran", r)
	return r.Err
}

func (s *Service) run(ctx context.Context, argv []string) error {
	return s.runIn(ctx, argv, nil)
}
