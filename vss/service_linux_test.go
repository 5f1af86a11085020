package vss

import (
	"log/slog"
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
	s, _ := newTestService(t, Config{
		Policy:     Policy{ZFS: ZFSSync, Include: []string{mnt}},
		ReadMounts: ReadMounts,
		Log:        slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if st := do(t, s, OpFreeze); st != StatusSuccess {
		t.Fatalf("FREEZE = %v", st)
	}
	before := buf.String()
	do(t, s, OpCheck) // logs while frozen, too
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
	if iFrozen < 0 || iCheck < iFrozen || iThawed < iCheck {
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
