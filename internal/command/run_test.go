package command_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hvagent/hvagent/internal/command"
	"github.com/hvagent/hvagent/internal/command/commandtest"
)

// needSh returns the path of sh(1); without one the test skips, or
// fails in CI (CI=true), which must run it.
func needSh(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but no sh:", err)
		}
		t.Skip("no sh:", err)
	}
	return sh
}

// script writes an executable shell script into a temp dir.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun(t *testing.T) {
	sh := needSh(t)
	tests := []struct {
		name       string
		cmd        command.Cmd
		wantOut    string
		wantErrOut string
		wantExit   int
		wantErr    string // substring; "" means success
	}{
		{name: "streams apart", cmd: command.Cmd{Argv: []string{sh, "-c", "echo out; echo err >&2"}},
			wantOut: "out\n", wantErrOut: "err\n"},
		{name: "streams merged", cmd: command.Cmd{Argv: []string{sh, "-c", "echo out; echo err >&2"}, MergeStderr: true},
			wantOut: "out\nerr\n"},
		{name: "stdin", cmd: command.Cmd{Argv: []string{sh, "-c", "cat"}, Stdin: []byte("in\n")}, wantOut: "in\n"},
		{name: "no stdin", cmd: command.Cmd{Argv: []string{sh, "-c", "cat"}}},
		{name: "env", cmd: command.Cmd{Argv: []string{sh, "-c", `echo "$X"`}, Env: []string{"X=y"}}, wantOut: "y\n"},
		{name: "dir", cmd: command.Cmd{Argv: []string{sh, "-c", "pwd"}, Dir: "/"}, wantOut: "/\n"},
		{name: "exit status", cmd: command.Cmd{Argv: []string{sh, "-c", "echo why >&2; exit 3"}},
			wantErrOut: "why\n", wantExit: 3, wantErr: "exit status 3: why"},
		{name: "a word is never split", cmd: command.Cmd{Argv: []string{"echo a; true"}},
			wantExit: -1, wantErr: "executable file not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := command.Run(context.Background(), tt.cmd)
			if string(r.Stdout) != tt.wantOut || string(r.Stderr) != tt.wantErrOut || r.ExitCode != tt.wantExit {
				t.Errorf("stdout %q stderr %q exit %d, want %q %q %d", r.Stdout, r.Stderr, r.ExitCode, tt.wantOut, tt.wantErrOut, tt.wantExit)
			}
			if tt.wantErr == "" && r.Err != nil || tt.wantErr != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tt.wantErr)) {
				t.Errorf("err %v, want %q", r.Err, tt.wantErr)
			}
			var ee *command.ExitError
			if isExit := errors.As(r.Err, &ee); isExit != (tt.wantExit > 0) {
				t.Errorf("err %v: an ExitError is %v, want %v", r.Err, isExit, tt.wantExit > 0)
			}
			if !slicesEqual(r.Argv, tt.cmd.Argv) {
				t.Errorf("argv %q, want %q", r.Argv, tt.cmd.Argv)
			}
		})
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// Each stream is kept up to the cap: the rest is read and dropped, and
// the command is not killed for writing it.
func TestRunCapsOutput(t *testing.T) {
	sh := needSh(t)
	r := command.Run(context.Background(), command.Cmd{Argv: []string{sh, "-c", "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2; echo done >&2"}, OutputCap: 1000})
	if r.Err != nil {
		t.Fatalf("%v: the command did not complete", r.Err)
	}
	if len(r.Stdout) != 1000 || len(r.Stderr) != 1000 {
		t.Fatalf("kept %d and %d bytes, want 1000 each", len(r.Stdout), len(r.Stderr))
	}
	r = command.Run(context.Background(), command.Cmd{Argv: []string{sh, "-c", "head -c 1000000 /dev/zero"}})
	if len(r.Stdout) != command.DefaultOutputCap {
		t.Fatalf("kept %d bytes, want DefaultOutputCap %d", len(r.Stdout), command.DefaultOutputCap)
	}
}

// readPID waits for a script to write a pid into file.
func readPID(t *testing.T, file string) int {
	t.Helper()
	for {
		if b, err := os.ReadFile(file); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// At the timeout, or when ctx ends, the command's whole process group
// goes, not only the child: a script's children do not outlive it. The
// error says why and is an ExitError.
func TestRunKillsProcessGroup(t *testing.T) {
	sh := needSh(t)
	for _, byTimeout := range []bool{true, false} {
		t.Run("timeout="+strconv.FormatBool(byTimeout), func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := command.Cmd{Argv: []string{sh, "-c", `sleep 600 & echo $! > "$0"; wait`, pidFile}}
			if byTimeout {
				c.Timeout = 200 * time.Millisecond
			}
			done := make(chan command.Result, 1)
			go func() { done <- command.Run(ctx, c) }()
			pid := readPID(t, pidFile)
			if !byTimeout {
				cancel()
			}
			r := <-done
			want := context.Canceled
			if byTimeout {
				want = context.DeadlineExceeded
			}
			var ee *command.ExitError
			if !errors.As(r.Err, &ee) || !errors.Is(r.Err, want) || r.ExitCode != -1 {
				t.Errorf("err %v exit %d, want an ExitError wrapping %v, exit -1", r.Err, r.ExitCode, want)
			}
			commandtest.WaitGone(t, pid)
		})
	}
}

// A command that exits 0 but leaves a child holding its output (an
// rc.d script starting a daemon) succeeds once WaitDelay has passed,
// and the child is left alone.
func TestRunLeftoverChild(t *testing.T) {
	needSh(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "release")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	pidFile := filepath.Join(dir, "child.pid")
	s := script(t, `(read x < "$1") & echo $! > "$2"; echo started; exit 0`+"\n")
	r := command.Run(context.Background(), command.Cmd{Argv: []string{s, fifo, pidFile}, WaitDelay: 50 * time.Millisecond})
	pid := readPID(t, pidFile)
	alive := syscall.Kill(pid, 0) == nil
	if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil { // release the child
		f.Write([]byte("\n"))
		f.Close()
	}
	if r.Err != nil || string(r.Stdout) != "started\n" {
		t.Errorf("err %v stdout %q, want success and %q", r.Err, r.Stdout, "started\n")
	}
	if !alive {
		t.Error("the child left behind by a command that exited 0 was killed")
	}
}

// A context that ended before Run does not start the command.
func TestRunDoneContext(t *testing.T) {
	sh := needSh(t)
	marker := filepath.Join(t.TempDir(), "ran")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := command.Run(ctx, command.Cmd{Argv: []string{sh, "-c", `: > "$0"`, marker}})
	var ee *command.ExitError
	if !errors.Is(r.Err, context.Canceled) || errors.As(r.Err, &ee) {
		t.Errorf("err %v, want context.Canceled and no ExitError", r.Err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran")
	}
	if r := command.Run(context.Background(), command.Cmd{}); r.Err == nil {
		t.Error("an empty argv ran")
	}
}

func TestExitErrorMessage(t *testing.T) {
	tests := []struct {
		err  *command.ExitError
		want string
	}{
		{&command.ExitError{Argv: []string{"ifconfig", "lagg0"}, Code: 1, Stderr: "does not exist\n"}, "ifconfig lagg0: exit status 1: does not exist"},
		{&command.ExitError{Argv: []string{"zpool", "sync"}, Code: -1, Err: context.DeadlineExceeded}, "zpool sync: killed at the deadline: context deadline exceeded"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestLog(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	command.Log(context.Background(), log, slog.LevelWarn, "ran", command.Result{Argv: []string{"sysrc", "x=1"}, ExitCode: 1, Duration: 1500 * time.Microsecond,
		Err: &command.ExitError{Argv: []string{"sysrc", "x=1"}, Code: 1}}, "hook", "h")
	want := `level=WARN msg=ran argv="[sysrc x=1]" exit=1 duration=2ms err="sysrc x=1: exit status 1" hook=h` + "\n"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}
