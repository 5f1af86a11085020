package vf

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/command"
	"github.com/hvagent/hvagent/internal/command/commandtest"
	"github.com/hvagent/hvagent/vf/vftest"
)

// signalRunner reports each command on ran; "ifconfig laggN" shows the
// VF already in the lagg, so no action follows.
func signalRunner(ran chan struct{}) *commandtest.Fake {
	return &commandtest.Fake{Func: func(context.Context, command.Cmd) command.Result {
		select {
		case ran <- struct{}{}:
		default:
		}
		return commandtest.Out("lagg0: flags=8843<UP>\n\tlaggport: hn0 flags=0<>\n\tlaggport: mce0 flags=0<>\n")
	}}
}

// benchAgent runs the vf subsystem on a real loop against a simulated
// devd and an in-memory kernel (non-transparent, mce0 on hn0).
func benchAgent(b *testing.B, mode Mode, run Runner, observed func()) (*vftest.Devd, *Metrics) {
	b.Helper()
	dir := b.TempDir()
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		b.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	sc := &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "0", "hw.hn.vfmap": "mce0:hn0", "hw.hn.vflist": "mce0",
		"dev.hn.0.vf": "mce0", "dev.hn.0.rxvf": "mce0",
	}}
	s := New(Config{DevdSocket: d.Path(), Mode: mode, BaseRules: filepath.Join(dir, "none"),
		Sysctl: &lockedSysctl{s: sc}, Runner: run, Metrics: m, Burst: 1 << 30})
	s.observed = observed
	log := slog.New(slog.DiscardHandler)
	loop := agent.NewLoop(log, 256)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { loop.Run(ctx); done <- struct{}{} }()
	go func() { _ = s.Run(ctx, &agent.Env{Loop: loop, Log: log}); done <- struct{}{} }()
	b.Cleanup(func() { cancel(); <-done; <-done; d.Close() })
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := d.WaitClients(wctx, 1); err != nil {
		b.Fatal(err)
	}
	for testutil.ToFloat64(m.Datapath.WithLabelValues("hn0")) != 1 {
		time.Sleep(time.Millisecond)
	}
	return d, m
}

// lockedSysctl lets the subsystem's goroutines share a mapSysctl.
type lockedSysctl struct {
	mu sync.Mutex
	s  *mapSysctl
}

func (l *lockedSysctl) Sysctl(name string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Sysctl(name)
}

// BenchmarkEventToMetric: from devd writing HYPERV_NIC_VF VF_DOWN/VF_UP
// to hvagent_vf_datapath_vf showing it.
func BenchmarkEventToMetric(b *testing.B) {
	seen := make(chan struct{}, 1)
	d, m := benchAgent(b, ModeObserve, signalRunner(make(chan struct{}, 1)), func() {
		select {
		case seen <- struct{}{}:
		default:
		}
	})
	g := m.Datapath.WithLabelValues("hn0")
	for len(seen) > 0 {
		<-seen
	}
	b.ResetTimer()
	for i := range b.N {
		typ, want := "VF_DOWN", 0.0
		if i%2 == 1 {
			typ, want = "VF_UP", 1
		}
		d.Send("!system=HYPERV_NIC_VF subsystem=hn0 type=" + typ)
		<-seen
		if i < 2 && testutil.ToFloat64(g) != want {
			b.Fatalf("datapath gauge %v after %s", testutil.ToFloat64(g), typ)
		}
	}
}

// BenchmarkEventToFirstCommand: from devd writing VF_UP to manage mode
// starting hyperv_vfup's first command (the query of lagg0).
func BenchmarkEventToFirstCommand(b *testing.B) {
	ran := make(chan struct{}, 1)
	d, _ := benchAgent(b, ModeManage, signalRunner(ran), nil)
	// Boot reconciliation runs the query once; drain it.
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		b.Fatal("no boot reconciliation")
	}
	time.Sleep(10 * time.Millisecond)
	b.ResetTimer()
	for range b.N {
		d.Send("!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP")
		<-ran
	}
}

// BenchmarkForkShell is the base system's way for comparison: devd
// forks /bin/sh for every matching event before the script's first
// command can start.
func BenchmarkForkShell(b *testing.B) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		b.Skip("no sh")
	}
	for range b.N {
		if err := exec.Command(sh, "-c", "exit 0").Run(); err != nil {
			b.Fatal(err)
		}
	}
}
