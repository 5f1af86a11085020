package commandtest

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/hvagent/hvagent/internal/command"
)

// Fake is a scripted command.Runner, safe for concurrent use. Its zero
// value answers every command with no output and exit status 0.
type Fake struct {
	// Func, if not nil, answers the commands On did not script; it is
	// called without Fake's lock held, so it may block (on ctx, say).
	// Set it before the Fake is used.
	Func func(ctx context.Context, c command.Cmd) command.Result

	mu     sync.Mutex
	script map[string][]command.Result
	calls  []command.Cmd
}

// On scripts the answers to the command argv (its words joined by single
// spaces): the first run gets the first result, and so on; the last one
// answers every run after it.
func (f *Fake) On(argv string, results ...command.Result) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.script == nil {
		f.script = make(map[string][]command.Result)
	}
	f.script[argv] = results
	return f
}

// Run implements command.Runner. The result's Argv, and that of its
// ExitError, are c's.
func (f *Fake) Run(ctx context.Context, c command.Cmd) command.Result {
	k := strings.Join(c.Argv, " ")
	f.mu.Lock()
	f.calls = append(f.calls, c)
	rs, scripted := f.script[k]
	var r command.Result
	if len(rs) > 0 {
		r = rs[0]
		if len(rs) > 1 {
			f.script[k] = rs[1:]
		}
	}
	f.mu.Unlock()
	if !scripted && f.Func != nil {
		r = f.Func(ctx, c)
	}
	r.Argv = c.Argv
	if ee, ok := r.Err.(*command.ExitError); ok {
		e := *ee
		e.Argv = c.Argv
		r.Err = &e
	}
	return r
}

// Calls returns the commands run so far, each as its words joined by
// single spaces, in the order they were run.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = strings.Join(c.Argv, " ")
	}
	return out
}

// Cmds returns the commands run so far, in order.
func (f *Fake) Cmds() []command.Cmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Out is a command that printed stdout and exited 0.
func Out(stdout string) command.Result {
	return command.Result{Stdout: []byte(stdout)}
}

// Exit is a command that exited with status code (not 0), printing
// stderr.
func Exit(code int, stderr string) command.Result {
	return command.Result{Stderr: []byte(stderr), ExitCode: code,
		Err: &command.ExitError{Code: code, Stderr: stderr}}
}
