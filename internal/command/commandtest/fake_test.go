package commandtest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/hvagent/hvagent/internal/command"
)

func TestFake(t *testing.T) {
	f := (&Fake{}).On("ifconfig lagg0 create", Exit(1, "busy\n"), Out("lagg0\n"))
	run := func(argv ...string) command.Result {
		return f.Run(context.Background(), command.Cmd{Argv: argv})
	}
	var ee *command.ExitError
	if r := run("ifconfig", "lagg0", "create"); !errors.As(r.Err, &ee) || ee.Code != 1 || !slices.Equal(ee.Argv, r.Argv) || r.ExitCode != 1 {
		t.Errorf("first run: %+v, want exit 1 with the command's argv", r)
	}
	for range 2 { // the last answer repeats
		if r := run("ifconfig", "lagg0", "create"); r.Err != nil || string(r.Stdout) != "lagg0\n" {
			t.Errorf("later run: %+v, want lagg0", r)
		}
	}
	if r := run("sysrc", "-n", "x"); r.Err != nil || len(r.Stdout) != 0 || r.ExitCode != 0 {
		t.Errorf("unscripted: %+v, want an empty success", r)
	}
	f.Func = func(_ context.Context, c command.Cmd) command.Result { return Out(c.Argv[0]) }
	if r := run("uname"); string(r.Stdout) != "uname" {
		t.Errorf("Func: %+v", r)
	}
	want := []string{"ifconfig lagg0 create", "ifconfig lagg0 create", "ifconfig lagg0 create", "sysrc -n x", "uname"}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}
