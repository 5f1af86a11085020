package netinfo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/internal/command"
	"github.com/hvagent/hvagent/internal/command/commandtest"
)

// Every command goes through the Service's Runner with netinfo's bounds:
// stdin as given, its output merged and capped, and a failure comes back
// as the command's ExitError, logged in command.Log's format.
func TestRunIn(t *testing.T) {
	fake := (&commandtest.Fake{}).On("resolvconf -a hn0", commandtest.Exit(1, "resolvconf: no such interface\n"))
	var logs bytes.Buffer
	s := New(Config{Run: fake, Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	err := s.runIn(context.Background(), []string{"resolvconf", "-a", "hn0"}, []byte("nameserver 192.0.2.53\n"))
	var ee *command.ExitError
	if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(err.Error(), "resolvconf -a hn0: exit status 1: resolvconf: no such interface") {
		t.Errorf("err %v, want the command's ExitError with its output", err)
	}
	if err := s.run(context.Background(), []string{"sysrc", "-f", "rc.conf", "x=1"}); err != nil {
		t.Errorf("sysrc: %v", err)
	}
	cmds := fake.Cmds()
	if len(cmds) != 2 {
		t.Fatalf("ran %q, want 2 commands", fake.Calls())
	}
	want := command.Cmd{Argv: []string{"resolvconf", "-a", "hn0"}, Stdin: []byte("nameserver 192.0.2.53\n"),
		MergeStderr: true, OutputCap: maxOutput, WaitDelay: waitDelay}
	if got := cmds[0]; strings.Join(got.Argv, " ") != strings.Join(want.Argv, " ") || string(got.Stdin) != string(want.Stdin) ||
		got.MergeStderr != want.MergeStderr || got.OutputCap != want.OutputCap || got.WaitDelay != want.WaitDelay || got.Timeout != 0 {
		t.Errorf("ran %+v, want %+v", got, want)
	}
	if cmds[1].Stdin != nil {
		t.Errorf("sysrc got stdin %q, want none", cmds[1].Stdin)
	}
	if n := strings.Count(logs.String(), `msg="set_ip_info: ran" argv=`); n != 2 {
		t.Errorf("%d command log lines, want 2:\n%s", n, logs.String())
	}
}
