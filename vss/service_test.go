package vss

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// hookDir makes executable hooks; each appends "name arg" to the log
// file, then runs its body.
func hookDir(t *testing.T, bodies map[string]string) (dir, logFile string) {
	t.Helper()
	dir = t.TempDir()
	logFile = filepath.Join(t.TempDir(), "hooks.log")
	for name, body := range bodies {
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %s\necho hook %s says hello\n%s\n", name, logFile, name, body)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, logFile
}

func hookLog(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

type fakeSync struct{ pools [][]string }

func (f *fakeSync) sync(_ context.Context, pools []string) error {
	f.pools = append(f.pools, pools)
	return nil
}

// newTestService serves a mount table with nothing to freeze (tmpfs and a
// ZFS pool), so hooks and policy run without touching a filesystem.
func newTestService(t *testing.T, cfg Config) (*Service, *Metrics) {
	t.Helper()
	cfg, m := testConfig(cfg)
	s := NewService(cfg)
	t.Cleanup(func() { s.Shutdown("test over") })
	return s, m
}

// testConfig fills in fresh metrics, a mount table of tmpfs and one ZFS
// dataset, and a fake zpool sync where cfg leaves them out.
func testConfig(cfg Config) (Config, *Metrics) {
	m := NewMetrics(prometheus.NewRegistry())
	cfg.Metrics = m
	if cfg.ReadMounts == nil {
		cfg.ReadMounts = func() ([]Mount, error) {
			return []Mount{{Dir: "/tmp", Type: "tmpfs"}, {Dir: "/z", Type: "zfs", Source: "zroot/z"}}, nil
		}
	}
	if cfg.SyncPools == nil {
		cfg.SyncPools = (&fakeSync{}).sync
	}
	return cfg, m
}

func do(t *testing.T, s *Service, op Op) Status {
	t.Helper()
	r, ok := s.Handle(Msg{Op: op, MsgID: uint64(op) * 100})
	if !ok {
		t.Fatalf("%v: no reply", op)
	}
	if r.MsgID != uint64(op)*100 || r.Op != op {
		t.Fatalf("%v: reply %+v does not match the request", op, r)
	}
	return r.Status
}

func TestHooksOrderAndArguments(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-db": "", "20-app": "", "30-web": ""})
	for _, junk := range []string{"40-x.bak", "50-y~", "60-z.sample", "70-w.orig"} {
		os.WriteFile(filepath.Join(dir, junk), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "80-not-executable"), []byte("#!/bin/sh\nexit 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "90-world-writable"), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	os.Chmod(filepath.Join(dir, "90-world-writable"), 0o777) // beyond the umask
	s, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}})
	if st := do(t, s, OpCheck); st != StatusSuccess {
		t.Fatalf("CHECK = %v", st)
	}
	if st := do(t, s, OpFreeze); st != StatusSuccess {
		t.Fatalf("FREEZE = %v", st)
	}
	if st := do(t, s, OpThaw); st != StatusSuccess {
		t.Fatalf("THAW = %v", st)
	}
	want := []string{"10-db freeze", "20-app freeze", "30-web freeze", "30-web thaw", "20-app thaw", "10-db thaw"}
	if got := hookLog(t, logf); !reflect.DeepEqual(got, want) {
		t.Errorf("hook runs (-want +got):\n-%q\n+%q", want, got)
	}
}

func TestFailingFreezeHookAborts(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": "", "20-b": "exit 3", "30-c": ""})
	s, m := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}})
	if st := do(t, s, OpFreeze); st != StatusFailure {
		t.Fatalf("FREEZE = %v, want failure", st)
	}
	want := []string{"10-a freeze", "20-b freeze", "20-b freeze-fail", "10-a freeze-fail"}
	if got := hookLog(t, logf); !reflect.DeepEqual(got, want) {
		t.Errorf("hook runs (-want +got):\n-%q\n+%q", want, got)
	}
	if s.Frozen() {
		t.Error("frozen after an aborted freeze")
	}
	// 20-b fails both its freeze and its freeze-fail run.
	if got := testutil.ToFloat64(m.HookFailures); got != 2 {
		t.Errorf("hook failures %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.Operations.WithLabelValues("freeze", "failure")); got != 1 {
		t.Errorf("freeze failures %v, want 1", got)
	}
}

func TestHangingHookIsKilled(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": "", "20-hang": "sleep 60"})
	s, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir, Timeout: 300 * time.Millisecond}})
	start := time.Now()
	if st := do(t, s, OpFreeze); st != StatusFailure {
		t.Fatalf("FREEZE = %v, want failure", st)
	}
	if d := time.Since(start); d > opBudget {
		t.Errorf("FREEZE answered after %s, beyond the kernel's window", d)
	}
	want := []string{"10-a freeze", "20-hang freeze", "20-hang freeze-fail", "10-a freeze-fail"}
	// freeze-fail of the hanging hook hangs too and is killed as well.
	if got := hookLog(t, logf); !reflect.DeepEqual(got, want) {
		t.Errorf("hook runs (-want +got):\n-%q\n+%q", want, got)
	}
}

func TestFreezeTwiceThawNothing(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": ""})
	s, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}})
	if st := do(t, s, OpThaw); st != StatusSuccess {
		t.Fatalf("THAW with nothing frozen = %v", st)
	}
	for i := 0; i < 2; i++ {
		if st := do(t, s, OpFreeze); st != StatusSuccess {
			t.Fatalf("FREEZE %d = %v", i, st)
		}
	}
	if st := do(t, s, OpThaw); st != StatusSuccess {
		t.Fatalf("THAW = %v", st)
	}
	if got, want := hookLog(t, logf), []string{"10-a freeze", "10-a thaw"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hook runs (-want +got):\n-%q\n+%q", want, got)
	}
}

func TestAutoThaw(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": ""})
	s, m := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}, MaxFrozen: 100 * time.Millisecond})
	if st := do(t, s, OpFreeze); st != StatusSuccess {
		t.Fatalf("FREEZE = %v", st)
	}
	for i := 0; s.Frozen() && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Frozen() {
		t.Fatal("no auto-thaw")
	}
	if got := testutil.ToFloat64(m.AutoThaws.WithLabelValues(autoMaxFrozen)); got != 1 {
		t.Errorf("auto thaws %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.Frozen); got != 0 {
		t.Errorf("frozen gauge %v", got)
	}
	// The late THAW fails once: the snapshot may postdate the thaw.
	if st := do(t, s, OpThaw); st != StatusFailure {
		t.Errorf("late THAW = %v, want failure", st)
	}
	if st := do(t, s, OpThaw); st != StatusSuccess {
		t.Errorf("second THAW = %v, want success", st)
	}
	if got, want := hookLog(t, logf), []string{"10-a freeze", "10-a thaw"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hook runs (-want +got):\n-%q\n+%q", want, got)
	}
}

func TestPolicyAndZFSSync(t *testing.T) {
	fs := &fakeSync{}
	s, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, SyncPools: fs.sync})
	if st := do(t, s, OpFreeze); st != StatusSuccess {
		t.Fatalf("FREEZE = %v", st)
	}
	if want := [][]string{{"zroot"}}; !reflect.DeepEqual(fs.pools, want) {
		t.Errorf("zpool sync %q, want %q", fs.pools, want)
	}
	do(t, s, OpThaw)
	s2, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSFail}})
	if st := do(t, s2, OpCheck); st != StatusFailure {
		t.Errorf("CHECK with zfs=fail = %v, want failure", st)
	}
	if st := do(t, s2, OpFreeze); st != StatusFailure {
		t.Errorf("FREEZE with zfs=fail = %v, want failure", st)
	}
}

// A read with status VSS_FAIL carries no request: the kernel timed the
// request out before the read and zero-filled the rest (opt 0, msgid 0).
// It gets no reply and is counted as skipped under operation "unknown",
// whatever its other fields say: no path depends on its operation.
func TestSkipsTimedOutReads(t *testing.T) {
	s, m := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}})
	if st := do(t, s, OpFreeze); st != StatusSuccess {
		t.Fatalf("FREEZE = %v", st)
	}
	reads := []Msg{
		{Status: StatusFailure}, // what the FreeBSD kernel hands over
		{Op: OpThaw, Status: StatusFailure, MsgID: 8},
		{Op: OpFreeze, Status: StatusFailure, MsgID: 7},
		{Op: 9, Status: 2},
	}
	for _, req := range reads {
		if r, ok := s.Handle(req); ok {
			t.Errorf("Handle(%+v) replied %+v", req, r)
		}
	}
	if !s.Frozen() {
		t.Error("a timed-out read ended the freeze")
	}
	if got := testutil.ToFloat64(m.Operations.WithLabelValues("unknown", "skipped")); got != float64(len(reads)) {
		t.Errorf("skipped %v, want %d", got, len(reads))
	}
	for _, op := range []string{"check", "freeze", "thaw"} {
		if got := testutil.ToFloat64(m.Operations.WithLabelValues(op, "skipped")); got != 0 {
			t.Errorf("operation=%q skipped %v, want 0", op, got)
		}
	}
	if st := do(t, s, OpThaw); st != StatusSuccess {
		t.Errorf("THAW = %v", st)
	}
	if st := do(t, s, Op(9)); st != StatusFailure {
		t.Errorf("unknown op = %v, want failure", st)
	}
	if st := do(t, s, Op(0)); st != StatusFailure {
		t.Errorf("op 0 with status success = %v, want failure", st)
	}
}

func TestZpoolSyncFailureAborts(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": ""})
	failSync := func(context.Context, []string) error { return errors.New("pool suspended") }
	s, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}, SyncPools: failSync})
	if st := do(t, s, OpFreeze); st != StatusFailure {
		t.Fatalf("FREEZE with a failing zpool sync = %v, want failure", st)
	}
	if got, want := hookLog(t, logf), []string{"10-a freeze", "10-a freeze-fail"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hook runs (-want +got):\n-%q\n+%q", want, got)
	}
	if s.Frozen() {
		t.Error("frozen after an aborted freeze")
	}
}

// A freeze that fails only at the end of its budget still runs the
// freeze-fail hooks: an application quiesced by its freeze hook must not
// be left quiesced with no backup in progress.
func TestFreezeFailHooksRunAfterTheBudget(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": ""})
	slowSync := func(ctx context.Context, _ []string) error {
		<-ctx.Done() // the pool never syncs: use the whole budget
		return ctx.Err()
	}
	s, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}, SyncPools: slowSync, opBudget: 500 * time.Millisecond})
	if st := do(t, s, OpFreeze); st != StatusFailure {
		t.Fatalf("FREEZE = %v, want failure", st)
	}
	if got, want := hookLog(t, logf), []string{"10-a freeze", "10-a freeze-fail"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hook runs (-want +got):\n-%q\n+%q", want, got)
	}
}

// zpool sync stops being waited for at its deadline, even when the
// process cannot be reaped then: here a child of the fake zpool keeps its
// output open (a zpool stuck in the kernel is not even killable). Before,
// FREEZE waited for it, holding the lock THAW and auto-thaw need.
func TestZpoolSyncStopsAtDeadline(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\nsleep 300 &\nsleep 300\n"
	if err := os.WriteFile(filepath.Join(bin, "zpool"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- zpoolSync(ctx, []string{"zroot"}) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("zpool sync past its deadline reported success")
		}
	case <-time.After(60 * time.Second): // a hang detector, not a performance bound
		t.Fatal("zpoolSync still waiting for zpool 60 s after its deadline")
	}
}

// Hooks run as root: a hooks directory others can write is refused, and
// with it the FREEZE, rather than running whatever was put there.
func TestHooksDirWritableByOthersRefused(t *testing.T) {
	dir, logf := hookDir(t, map[string]string{"10-a": ""})
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	s, _ := newTestService(t, Config{Policy: Policy{ZFS: ZFSSync}, Hooks: &Hooks{Dir: dir}})
	if st := do(t, s, OpFreeze); st != StatusFailure {
		t.Errorf("FREEZE with a world-writable hooks directory = %v, want failure", st)
	}
	if got := hookLog(t, logf); got != nil {
		t.Errorf("hooks ran from a world-writable directory: %q", got)
	}
}
