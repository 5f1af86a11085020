package vss

import (
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/vss/vsstest"
)

// realService freezes only the loop-mounted filesystem the test made.
func realService(t *testing.T, mnt string, maxFrozen time.Duration) (*Service, *Metrics) {
	return newTestService(t, Config{
		Policy:     Policy{ZFS: ZFSSync, Include: []string{mnt}},
		ReadMounts: ReadMounts,
		MaxFrozen:  maxFrozen,
	})
}

func TestServiceRealFreeze(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	s, m := realService(t, mnt, time.Minute)
	for _, op := range []Op{OpCheck, OpFreeze} {
		if st := do(t, s, op); st != StatusSuccess {
			t.Fatalf("%v = %v", op, st)
		}
	}
	w := startWrite(t, mnt, "a")
	if !w.blocked(300 * time.Millisecond) {
		t.Fatalf("write finished while frozen (err %v)", w.err)
	}
	if got := testutil.ToFloat64(m.Frozen); got != 1 {
		t.Errorf("frozen gauge %v, want 1", got)
	}
	if st := do(t, s, OpThaw); st != StatusSuccess {
		t.Fatalf("THAW = %v", st)
	}
	w.wait(t, 5*time.Second)
	if got := testutil.ToFloat64(m.LastSuccess); got == 0 {
		t.Error("last success timestamp not set")
	}
}

func TestServiceFreezerKilled(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	s, m := realService(t, mnt, time.Minute)
	if st := do(t, s, OpFreeze); st != StatusSuccess {
		t.Fatalf("FREEZE = %v", st)
	}
	s.mu.Lock()
	pid := s.sess.frozen.Pid()
	s.mu.Unlock()
	w := startWrite(t, mnt, "a")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w.wait(t, 5*time.Second) // the agent thawed it (Linux keeps it frozen otherwise)
	for i := 0; s.Frozen() && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := testutil.ToFloat64(m.AutoThaws.WithLabelValues(autoFreezerDied)); got != 1 {
		t.Errorf("freezer_died auto-thaws %v, want 1", got)
	}
	if st := do(t, s, OpThaw); st != StatusFailure {
		t.Errorf("THAW after the freezer died = %v, want failure", st)
	}
}

func TestServiceShutdownThaws(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	s, _ := realService(t, mnt, time.Minute)
	if st := do(t, s, OpFreeze); st != StatusSuccess {
		t.Fatalf("FREEZE = %v", st)
	}
	w := startWrite(t, mnt, "a")
	s.Shutdown("SIGTERM")
	w.wait(t, 5*time.Second)
}

// Nothing is logged while frozen (a log file on the frozen filesystem
// would block the agent); the held lines come out after the thaw.
func TestServiceHoldsLogsWhileFrozen(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	var buf lockedBuf
	root := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hold := NewLogHold()
	root = hold.Wrap(root) // as the daemon does
	kvpLog := root.With("subsystem", "kvp")
	s, _ := newTestService(t, Config{
		Policy:     Policy{ZFS: ZFSSync, Include: []string{mnt}},
		ReadMounts: ReadMounts,
		Log:        root.With("subsystem", "vss"),
		LogHold:    hold,
	})
	if st := do(t, s, OpFreeze); st != StatusSuccess {
		t.Fatalf("FREEZE = %v", st)
	}
	before := buf.String()
	do(t, s, OpCheck)                     // logs while frozen, too
	kvpLog.Info("another subsystem logs") // and so does the rest of the agent
	if got := buf.String(); got != before {
		t.Errorf("logged while frozen:\n%s", strings.TrimPrefix(got, before))
	}
	if strings.Contains(before, `msg=frozen`) {
		t.Errorf("the freeze was logged before the thaw:\n%s", before)
	}
	if st := do(t, s, OpThaw); st != StatusSuccess {
		t.Fatalf("THAW = %v", st)
	}
	after := buf.String()
	iFrozen, iCheck, iThawed := strings.Index(after, "msg=frozen"), strings.Index(after, "operation=check"), strings.Index(after, "msg=thawed")
	iOther := strings.Index(after, "another subsystem logs")
	if iFrozen < 0 || iCheck < iFrozen || iOther < iCheck || iThawed < iOther {
		t.Errorf("held lines missing or out of order after the thaw:\n%s", after)
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A freeze that fails lets go of the log lines it held.
func TestServiceFailedFreezeReleasesLogs(t *testing.T) {
	var buf lockedBuf
	missing := filepath.Join(t.TempDir(), "gone") // opening it fails: nothing is frozen
	s, _ := newTestService(t, Config{
		Policy:     Policy{ZFS: ZFSSync},
		ReadMounts: func() ([]Mount, error) { return []Mount{{Dir: missing, Type: "ext4", Dev: "7:0"}}, nil },
		Log:        slog.New(slog.NewTextHandler(&buf, nil)),
	})
	if st := do(t, s, OpFreeze); st != StatusFailure {
		t.Fatalf("FREEZE of a missing mount point = %v, want failure", st)
	}
	s.log.Info("after the failed freeze")
	if !strings.Contains(buf.String(), "after the failed freeze") {
		t.Errorf("log lines still held after a failed freeze:\n%s", buf.String())
	}
}

// A filesystem the kernel cannot freeze (FIFREEZE: EOPNOTSUPP; a tmpfs
// the test mounts stands in for one on a block device) is skipped,
// logged and counted; the others are frozen and the FREEZE succeeds.
func TestServiceSkipsUnsupportedFilesystem(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	tmp := t.TempDir()
	if err := syscall.Mount("tmpfs", tmp, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err) // LoopFS already needed root
	}
	t.Cleanup(func() { _ = syscall.Unmount(tmp, 0) })
	table := []Mount{
		{Dir: mnt, Type: "ext4", Source: "/dev/loop-a", Dev: "a", Loop: true},
		{Dir: tmp, Type: "nofreezefs", Source: "/dev/loop-b", Dev: "b", Loop: true},
	}
	s, m := newTestService(t, Config{
		Policy:     Policy{Linux: true, Include: []string{mnt, tmp}},
		ReadMounts: func() ([]Mount, error) { return table, nil },
	})
	if st := do(t, s, OpFreeze); st != StatusSuccess {
		t.Fatalf("FREEZE = %v", st)
	}
	w := startWrite(t, mnt, "a")
	if !w.blocked(300 * time.Millisecond) {
		t.Fatalf("write finished while frozen (err %v)", w.err)
	}
	startWrite(t, tmp, "b").wait(t, 5*time.Second) // never frozen
	if got := testutil.ToFloat64(m.FreezeSkipped.WithLabelValues(skipUnsupported)); got != 1 {
		t.Errorf("skipped counted %v, want 1", got)
	}
	if st := do(t, s, OpThaw); st != StatusSuccess {
		t.Fatalf("THAW = %v", st)
	}
	w.wait(t, 5*time.Second)

	// With nothing else to freeze, the FREEZE fails and nothing is held.
	table = table[1:]
	if st := do(t, s, OpFreeze); st != StatusFailure {
		t.Fatalf("FREEZE of only an unfreezable filesystem = %v", st)
	}
	if s.Frozen() {
		t.Error("frozen after a failed FREEZE")
	}
}
