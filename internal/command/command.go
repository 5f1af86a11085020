package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Cmd is one command to run.
type Cmd struct {
	// Argv is the argument vector. Argv[0] is looked up on PATH unless it
	// contains a slash (rc.d sets PATH; tests put fakes there).
	Argv []string
	Env  []string // nil: the agent's environment
	Dir  string   // "": the agent's working directory
	// Stdin is the command's standard input; nil: none (/dev/null).
	Stdin []byte
	// Timeout bounds the command on top of ctx; 0: ctx alone does.
	Timeout time.Duration
	// OutputCap is how many bytes of each stream are kept; the rest is
	// read and dropped, so that the command is not killed by EPIPE for
	// writing it. 0: DefaultOutputCap.
	OutputCap int
	// MergeStderr sends standard error to Result.Stdout, interleaved as
	// a terminal would show it; Result.Stderr stays empty.
	MergeStderr bool
	// WaitDelay is how long the output pipes are read after the command
	// exited or was killed, for a child it left holding them (a daemon
	// started by an rc.d script, a dhclient). 0: DefaultWaitDelay.
	WaitDelay time.Duration
}

const (
	// DefaultOutputCap bounds the output kept of each stream: a command
	// that writes without end cannot grow the agent's memory.
	DefaultOutputCap = 64 << 10
	// DefaultWaitDelay: see Cmd.WaitDelay.
	DefaultWaitDelay = 500 * time.Millisecond
	// ReapWait is how long Run waits, once it killed a command's process
	// group, for the command to go. A process stuck in the kernel (a hung
	// disk or NFS server) is not ended by SIGKILL until its system call
	// returns; Run leaves it to a goroutine that reaps it later.
	ReapWait = time.Second
	// stderrInError is how much of the error output an ExitError keeps.
	stderrInError = 512
)

// ErrLeftBehind reports a command killed at its deadline that had not
// exited ReapWait later.
var ErrLeftBehind = errors.New("killed, but still stuck in the kernel; reaped in the background")

// Result is what became of a command.
type Result struct {
	Argv     []string
	Stdout   []byte // at most OutputCap bytes
	Stderr   []byte // at most OutputCap bytes; empty with MergeStderr
	ExitCode int    // -1: it did not exit on its own (not started, killed)
	Duration time.Duration
	// Err is nil for a command that exited 0. A command that ran and
	// did not exit 0, or was killed, gives an *ExitError; one that could
	// not start, an error naming it.
	Err error
}

// ExitError is a command that ran and exited non-zero or was killed.
type ExitError struct {
	Argv []string
	Code int // -1: killed by a signal
	// Stderr is the start of its standard error (of its output, with
	// MergeStderr), at most 512 bytes.
	Stderr string
	// Err says why Run killed it: the context's error, joined with
	// ErrLeftBehind if it was still there ReapWait later. nil when the
	// command exited or something else killed it.
	Err error

	state string // the exit status as os.ProcessState words it
}

func (e *ExitError) Error() string {
	msg := strings.Join(e.Argv, " ")
	switch {
	case e.Err != nil:
		msg += ": killed at the deadline: " + e.Err.Error()
	case e.state != "":
		msg += ": " + e.state
	default:
		msg += fmt.Sprintf(": exit status %d", e.Code)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Unwrap returns Err: errors.Is(err, context.DeadlineExceeded) holds
// for a command killed at its timeout.
func (e *ExitError) Unwrap() error { return e.Err }

// Runner runs commands; Exec is the system's, commandtest.Fake a test's.
type Runner interface {
	Run(ctx context.Context, c Cmd) Result
}

// Exec is the Runner of the running system: it calls Run.
type Exec struct{}

// Run implements Runner.
func (Exec) Run(ctx context.Context, c Cmd) Result { return Run(ctx, c) }

// Log writes one line about a command that ran, in the one format
// hvagent uses for them: argv, exit, duration and, when it failed, err,
// then attrs.
func Log(ctx context.Context, log *slog.Logger, level slog.Level, msg string, r Result, attrs ...any) {
	a := []any{"argv", r.Argv, "exit", r.ExitCode, "duration", r.Duration.Round(time.Millisecond)}
	if r.Err != nil {
		a = append(a, "err", r.Err)
	}
	log.Log(ctx, level, msg, append(a, attrs...)...)
}
