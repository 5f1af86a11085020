package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// slowStopEnv makes the test binary a daemon whose shutdown hangs: it
// takes its signals as runDaemon does, and after the first one sleeps.
const slowStopEnv = "HVAGENT_TEST_SLOW_STOP"

func slowStopMain() int {
	ctx, stop := shutdownContext()
	defer stop()
	fmt.Println("ready")
	<-ctx.Done()
	fmt.Println("stopping")
	time.Sleep(time.Minute) // a shutdown that hangs
	return 0
}

// A second SIGTERM or SIGINT during a shutdown that hangs kills the
// process, instead of being ignored.
func TestSecondSignalKills(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), slowStopEnv+"=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		expect := func(want string) {
			t.Helper()
			if !lines.Scan() || lines.Text() != want {
				_ = cmd.Process.Kill()
				t.Fatalf("%v: child said %q, want %q", sig, lines.Text(), want)
			}
		}
		expect("ready")
		_ = cmd.Process.Signal(sig)
		expect("stopping")
		// The handler lets go right after the first signal; resend until
		// the process ends, as an impatient administrator would.
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		tick := time.NewTicker(100 * time.Millisecond)
		deadline := time.After(20 * time.Second)
	wait:
		for {
			_ = cmd.Process.Signal(sig)
			select {
			case err := <-done:
				ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
				if !ok || !ws.Signaled() || ws.Signal() != sig {
					t.Errorf("%v: child ended with %v; want killed by the second signal", sig, err)
				}
				break wait
			case <-tick.C:
			case <-deadline:
				_ = cmd.Process.Kill()
				<-done
				t.Errorf("%v: the second signal was ignored", sig)
				break wait
			}
		}
		tick.Stop()
	}
}
