package vss

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// benchSubsystem serves a Service over the socket transport to a
// simulated kernel, as the agent does.
func benchSubsystem(b *testing.B, pol Policy) *vsstest.Kernel {
	b.Helper()
	dir, err := os.MkdirTemp("", "vssb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	k, err := vsstest.NewKernel(filepath.Join(dir, "vss.sock"), vsstest.KernelOptions{})
	if err != nil {
		b.Fatal(err)
	}
	sub := New(Config{Device: k.Path(), Policy: pol, Metrics: NewMetrics(prometheus.NewRegistry()), Hooks: &Hooks{Dir: filepath.Join(dir, "none")}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sub.Run(ctx, &agent.Env{Log: slog.New(slog.DiscardHandler)})
		close(done)
	}()
	b.Cleanup(func() { cancel(); <-done; k.Close() })
	if err := k.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	return k
}

func transact(b *testing.B, k *vsstest.Kernel, op uint32) time.Duration {
	start := time.Now()
	st, err := k.Transact(context.Background(), op)
	d := time.Since(start)
	if err != nil || st != vsstest.StatusSuccess {
		b.Fatalf("op %d: status %d, err %v", op, st, err)
	}
	return d
}

// BenchmarkCheck: CHECK over the socket, reading this machine's mount
// table and planning (nothing is frozen; the loop mount, root only, gives
// the plan something to freeze, else CHECK refuses).
func BenchmarkCheck(b *testing.B) {
	mnt := vsstest.LoopFS(b)
	k := benchSubsystem(b, Policy{ZFS: ZFSSync, Include: []string{mnt}})
	for b.Loop() {
		transact(b, k, vsstest.OpCheck)
	}
}

// BenchmarkFreezeThaw: a real backup cycle without hooks on a loop-mounted
// ext4 (root only). Reported per cycle: the time from sending FREEZE to
// its reply (fork the freezer, FIFREEZE, report) and from THAW to its
// reply (FITHAW, the freezer's exit).
func BenchmarkFreezeThaw(b *testing.B) {
	mnt := vsstest.LoopFS(b)
	k := benchSubsystem(b, Policy{ZFS: ZFSSync, Include: []string{mnt}})
	var freeze, thaw time.Duration
	for b.Loop() {
		freeze += transact(b, k, vsstest.OpFreeze)
		thaw += transact(b, k, vsstest.OpThaw)
	}
	b.ReportMetric(float64(freeze.Microseconds())/1000/float64(b.N), "freeze-ms/op")
	b.ReportMetric(float64(thaw.Microseconds())/1000/float64(b.N), "thaw-ms/op")
}
