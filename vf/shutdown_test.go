package vf

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/command"
	"github.com/hvagent/hvagent/internal/command/commandtest"
	"github.com/hvagent/hvagent/vf/vftest"
)

// startHungAction runs a manage-mode subsystem whose boot-time action
// hangs in 'ifconfig lagg0' until release is closed or its context ends;
// it returns once that command runs, with what cancels the subsystem and
// a channel closed when Run returned.
func startHungAction(t *testing.T, grace time.Duration, release chan struct{}) (stop func(), returned chan struct{}, cmdErr chan error) {
	t.Helper()
	dir := t.TempDir()
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	sc := &lockedSysctl{s: &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "0", "hw.hn.vfmap": "mce0:hn0", "dev.hn.0.vf": "mce0", "dev.hn.0.rxvf": "mce0",
	}}}
	started := make(chan struct{})
	cmdErr = make(chan error, 1)
	var once sync.Once
	run := &commandtest.Fake{Func: func(ctx context.Context, c command.Cmd) command.Result {
		if strings.Join(c.Argv, " ") != "ifconfig lagg0" {
			return command.Result{}
		}
		once.Do(func() { close(started) })
		select {
		case <-release:
			cmdErr <- nil
			return command.Result{}
		case <-ctx.Done():
			cmdErr <- ctx.Err()
			return command.Result{Err: ctx.Err()}
		}
	}}
	s := New(Config{DevdSocket: d.Path(), Mode: ModeManage, BaseRules: filepath.Join(dir, "none"),
		Sysctl: sc, Runner: run, Metrics: NewMetrics(prometheus.NewRegistry()), ShutdownGrace: grace})
	log := slog.New(slog.DiscardHandler)
	loop := agent.NewLoop(log, 256)
	ctx, cancel := context.WithCancel(context.Background())
	returned = make(chan struct{})
	go loop.Run(ctx)
	go func() { _ = s.Run(ctx, &agent.Env{Loop: loop, Log: log}); close(returned) }()
	t.Cleanup(func() { cancel(); <-returned })
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the boot-time action did not start")
	}
	return cancel, returned, cmdErr
}

// Shutdown lets a running action finish instead of killing its command.
func TestShutdownWaitsForRunningAction(t *testing.T) {
	release := make(chan struct{})
	stop, returned, cmdErr := startHungAction(t, time.Minute, release)
	stop()
	select {
	case <-returned:
		t.Fatal("Run returned while an action was running")
	case err := <-cmdErr:
		t.Fatalf("the running command was cut off: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-cmdErr; err != nil {
		t.Fatalf("command: %v", err)
	}
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once the action finished")
	}
}

// An action that outlives the grace is abandoned: Run returns and the
// command's context ends.
func TestShutdownGraceIsBounded(t *testing.T) {
	stop, returned, cmdErr := startHungAction(t, 50*time.Millisecond, make(chan struct{}))
	stop()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Run waited past the grace")
	}
	select {
	case err := <-cmdErr:
		if err == nil {
			t.Fatal("the command finished; want it cancelled")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned command's context did not end")
	}
}
