package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/hvagent/hvagent/vss/vsstest"
)

// Acceptance 1: a real freeze through the real binary, with a one-thread
// freezer, a write that blocks while frozen and completes after THAW; in
// both protocols, and with --vss.protocol linux on ext4 and XFS.
func TestE2EVSSRealFreeze(t *testing.T) {
	eachVSSProtocol(t, func(t *testing.T, proto string) {
		fstypes := []string{"ext4"}
		if proto == "linux" {
			fstypes = append(fstypes, "xfs")
		}
		for _, fstype := range fstypes {
			t.Run(fstype, func(t *testing.T) { realFreeze(t, proto, fstype) })
		}
	})
}

func realFreeze(t *testing.T, proto, fstype string) {
	mnt := vsstest.LoopFSType(t, fstype)
	e := newProtoVSSEnv(t, proto, mnt)
	e.start()
	e.must(vsstest.OpCheck, vsstest.StatusSuccess)
	e.must(vsstest.OpFreeze, vsstest.StatusSuccess)
	pid := e.freezerPid()
	if n := threads(t, pid); n != "1" {
		t.Errorf("freezer %d has %s threads while holding the freeze, want 1", pid, n)
	}
	done := bgWrite(t, mnt)
	requireBlocked(t, done, e)
	e.must(vsstest.OpThaw, vsstest.StatusSuccess)
	requireDone(t, done, 5*time.Second, e)

	body := scrape(t, "http://"+e.listen+"/metrics")
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, want := range []string{
		`hvagent_subsystem_up{subsystem="vss"} 1`,
		`hvagent_vss_operations_total{operation="freeze",result="success"} 1`,
		`hvagent_vss_operations_total{operation="thaw",result="success"} 1`,
		`hvagent_vss_frozen 0`,
		`hvagent_vss_frozen_duration_seconds_count 1`,
		`hvagent_vss_auto_thaws_total{reason="max_frozen"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

// Acceptance 2a: the agent is SIGKILLed while frozen; the freezer sees
// its control pipe close and thaws within a second.
func TestE2EVSSAgentKilledWhileFrozen(t *testing.T) {
	eachVSSProtocol(t, func(t *testing.T, proto string) {
		mnt := vsstest.LoopFS(t)
		e := newProtoVSSEnv(t, proto, mnt)
		e.start()
		e.must(vsstest.OpFreeze, vsstest.StatusSuccess)
		done := bgWrite(t, mnt)
		requireBlocked(t, done, e)
		e.kill()
		requireDone(t, done, time.Second, e)
	})
}

// A service manager's stop signals the whole control group: SIGTERM to
// the agent and to its freezer at once. The freezer ignores it (it
// blocks every signal, so it cannot die frozen); the agent thaws before
// it exits, and the freezer, told to thaw, exits too.
func TestE2EVSSSigtermToAgentAndFreezer(t *testing.T) {
	eachVSSProtocol(t, func(t *testing.T, proto string) {
		mnt := vsstest.LoopFS(t)
		e := newProtoVSSEnv(t, proto, mnt)
		e.start()
		e.must(vsstest.OpFreeze, vsstest.StatusSuccess)
		freezer := e.freezerPid()
		done := bgWrite(t, mnt)
		requireBlocked(t, done, e)
		_ = syscall.Kill(freezer, syscall.SIGTERM)
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(20 * time.Second):
			t.Fatalf("agent ignored SIGTERM\nagent log:\n%s", e.stderr)
		}
		requireDone(t, done, time.Second, e)
		if !strings.Contains(e.stderr.String(), "thawing before stop") {
			t.Errorf("no thaw logged before stop:\n%s", e.stderr)
		}
		if strings.Contains(e.stderr.String(), "freezer exited while frozen") {
			t.Errorf("the freezer died of SIGTERM while frozen:\n%s", e.stderr)
		}
		// The freezer is gone: it thawed on the agent's word and exited.
		for i := 0; syscall.Kill(freezer, 0) == nil; i++ {
			if i == 100 {
				t.Fatalf("freezer %d still running after the agent stopped", freezer)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// A FREEZE that fails answers failure: in the Linux protocol the HRESULT
// HV_E_FAIL 0x80004005, never 1 (S_FALSE, a success). HOT_BACKUP is
// answered 0 even so, as Linux's daemon answers it.
func TestE2EVSSLinuxFailedFreeze(t *testing.T) {
	e := newLinuxVSSEnv(t, "", vsstest.LinuxKernelOptions{}) // --vss.include names no mount point
	e.start()
	e.mustLinux(vsstest.LinuxOpHotBackup, vsstest.HVSOK)
	e.mustLinux(vsstest.LinuxOpFreeze, vsstest.HVEFail)
	e.mustLinux(vsstest.LinuxOpThaw, vsstest.HVSOK)
	waitLog(t, e, "HOT_BACKUP answered success")
	if body := scrape(t, "http://"+e.listen+"/metrics"); !strings.Contains(body, `hvagent_vss_operations_total{operation="freeze",result="failure"} 1`) {
		t.Errorf("failed FREEZE not counted:\n%s", grep(body, "hvagent_vss_operations_total"))
	}
	if s := e.lk.Stats(); s.Registered != 1 || s.Dropped != 0 || s.Timeouts != 0 {
		t.Errorf("kernel stats %+v", s)
	}
}

// Acceptance 2b: the freezer is SIGKILLed while frozen; the agent notices,
// reports it, thaws (Linux keeps a dead freezer's filesystem frozen), and
// fails the host's THAW.
func TestE2EVSSFreezerKilled(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	e := newVSSEnv(t, mnt, vsstest.KernelOptions{})
	e.start()
	e.must(vsstest.OpFreeze, vsstest.StatusSuccess)
	done := bgWrite(t, mnt)
	requireBlocked(t, done, e)
	if err := syscall.Kill(e.freezerPid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	requireDone(t, done, 5*time.Second, e)
	waitLog(t, e, "freezer exited while frozen")
	e.must(vsstest.OpThaw, vsstest.StatusFailure)
	if body := scrape(t, "http://"+e.listen+"/metrics"); !strings.Contains(body, `hvagent_vss_auto_thaws_total{reason="freezer_died"} 1`) {
		t.Errorf("freezer death not counted:\n%s", grep(body, "hvagent_vss_"))
	}
}

// Acceptance 3: no THAW arrives; the agent thaws at --vss.max-frozen,
// logs it and counts it.
func TestE2EVSSAutoThaw(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	e := newVSSEnv(t, mnt, vsstest.KernelOptions{})
	e.start("--vss.max-frozen", "1s")
	e.must(vsstest.OpFreeze, vsstest.StatusSuccess)
	done := bgWrite(t, mnt)
	requireBlocked(t, done, e)
	requireDone(t, done, 10*time.Second, e)
	waitLog(t, e, "no THAW within --vss.max-frozen")
	if body := scrape(t, "http://"+e.listen+"/metrics"); !strings.Contains(body, `hvagent_vss_auto_thaws_total{reason="max_frozen"} 1`) ||
		!strings.Contains(body, "hvagent_vss_frozen 0") {
		t.Errorf("auto-thaw not counted:\n%s", grep(body, "hvagent_vss_"))
	}
	e.must(vsstest.OpThaw, vsstest.StatusFailure) // the snapshot may postdate the thaw
}

// SIGTERM while frozen thaws before the agent exits.
func TestE2EVSSSigtermThaws(t *testing.T) {
	eachVSSProtocol(t, func(t *testing.T, proto string) {
		mnt := vsstest.LoopFS(t)
		e := newProtoVSSEnv(t, proto, mnt)
		e.start()
		e.must(vsstest.OpFreeze, vsstest.StatusSuccess)
		done := bgWrite(t, mnt)
		requireBlocked(t, done, e)
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(20 * time.Second):
			t.Fatalf("agent ignored SIGTERM\nagent log:\n%s", e.stderr)
		}
		if e.waitErr != nil {
			t.Fatalf("agent exited with %v\nagent log:\n%s", e.waitErr, e.stderr)
		}
		requireDone(t, done, time.Second, e)
		if !strings.Contains(e.stderr.String(), "thawing before stop") {
			t.Errorf("no thaw logged before stop:\n%s", e.stderr)
		}
	})
}

// Acceptance 4 through the binary: hooks run with their output logged,
// and a hook that hangs is killed at its timeout while FREEZE still
// answers inside the kernel's 15 s. The loop mount gives the plan
// something to freeze (an empty plan refuses before any hook runs); the
// hanging hook aborts the freeze before it is frozen.
func TestE2EVSSHooks(t *testing.T) {
	hooks := t.TempDir()
	logf := filepath.Join(t.TempDir(), "hooks.log")
	write := func(name, body string) {
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $1\" >> %s\necho hello from %s\n%s\n", name, logf, name, body)
		if err := os.WriteFile(filepath.Join(hooks, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("10-ok", "")
	write("20-hang", `if [ "$1" = freeze ]; then exec sleep 60; fi`)
	mnt := vsstest.LoopFS(t)
	e := newVSSEnv(t, mnt, vsstest.KernelOptions{}) // the kernel's real 15 s
	e.start("--vss.hooks-dir", hooks)
	start := time.Now()
	e.must(vsstest.OpFreeze, vsstest.StatusFailure) // ErrTimeout would fail here
	t.Logf("FREEZE with a hanging hook answered after %s", time.Since(start).Round(time.Millisecond))
	b, _ := os.ReadFile(logf)
	if got, want := strings.TrimSpace(string(b)), "10-ok freeze\n20-hang freeze\n20-hang freeze-fail\n10-ok freeze-fail"; got != want {
		t.Errorf("hook runs:\n%s\nwant:\n%s", got, want)
	}
	waitLog(t, e, "hello from 10-ok")
	waitLog(t, e, "killed after 5s")
}

// On Linux (tests, the demo) the agent freezes only what --vss.include
// names: without it, CHECK refuses. The test sends only CHECK, so even a
// broken guard freezes nothing.
func TestE2EVSSLinuxNeedsInclude(t *testing.T) {
	e := newVSSEnv(t, "", vsstest.KernelOptions{})
	e.start("--vss.include", "")
	e.must(vsstest.OpCheck, vsstest.StatusFailure)
	waitLog(t, e, "and it names none")
}

// A read the kernel zero-filled because its request had timed out
// (hv_vss_notified in sys/dev/hyperv/utilities/hv_snapshot.c) gets no answer and changes nothing: the freeze holds until the
// host's THAW. Had the lost request been the THAW, only --vss.max-frozen
// would end the freeze (TestE2EVSSAutoThaw).
func TestE2EVSSTimedOutReadSkipped(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	e := newVSSEnv(t, mnt, vsstest.KernelOptions{})
	e.start()
	e.must(vsstest.OpFreeze, vsstest.StatusSuccess)
	done := bgWrite(t, mnt)
	requireBlocked(t, done, e)
	if err := e.kernel.SendTimedOut(); err != nil {
		t.Fatal(err)
	}
	requireBlocked(t, done, e)
	e.must(vsstest.OpThaw, vsstest.StatusSuccess)
	requireDone(t, done, 5*time.Second, e)
	waitLog(t, e, "the kernel timed out a request before the agent read it") // held while frozen
	if s := e.kernel.Stats(); s.Stray != 0 || s.LateReplies != 0 || s.BadReplies != 0 {
		t.Errorf("stats %+v: the agent answered the zero-filled read", s)
	}
	if body := scrape(t, "http://"+e.listen+"/metrics"); !strings.Contains(body, `hvagent_vss_operations_total{operation="unknown",result="skipped"} 1`) {
		t.Errorf("zero-filled read not counted:\n%s", grep(body, "hvagent_vss_operations_total"))
	}
}

// SIGKILL to the agent's whole process group (a service manager giving
// up, kill -9 -PGID) while frozen: the freezer is in a group of its own,
// survives, sees its control pipe close and thaws. Were it killed too,
// Linux would keep the filesystem frozen with nobody left to thaw it.
func TestE2EVSSProcessGroupKilledWhileFrozen(t *testing.T) {
	eachVSSProtocol(t, func(t *testing.T, proto string) {
		mnt := vsstest.LoopFS(t)
		e := newProtoVSSEnv(t, proto, mnt)
		e.ownGroup = true
		e.start()
		e.must(vsstest.OpFreeze, vsstest.StatusSuccess)
		done := bgWrite(t, mnt)
		requireBlocked(t, done, e)
		if err := syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		requireDone(t, done, time.Second, e)
	})
}
