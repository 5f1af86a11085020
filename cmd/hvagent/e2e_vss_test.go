package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/hvagent/hvagent/vss/vsstest"
)

// vssEnv is one VSS test's world: a simulated kernel, and the real agent
// with only the vss subsystem, freezing at most the loop-mounted
// filesystem the test made (--vss.include).
type vssEnv struct {
	t       *testing.T
	kernel  *vsstest.Kernel
	mnt     string
	listen  string
	cmd     *exec.Cmd
	stderr  *lockedBuffer
	exited  chan struct{}
	waitErr error
}

func newVSSEnv(t *testing.T, mnt string, opts vsstest.KernelOptions) *vssEnv {
	t.Helper()
	dir, err := os.MkdirTemp("", "hvv") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	k, err := vsstest.NewKernel(filepath.Join(dir, "vss.sock"), opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &vssEnv{t: t, kernel: k, mnt: mnt, listen: freePort(t)}
	t.Cleanup(func() {
		if mnt != "" {
			vsstest.ThawFS(mnt) // never leave it frozen, whatever failed
		}
		e.kill()
		k.Close()
	})
	return e
}

// start runs the agent and waits until it holds the device.
func (e *vssEnv) start(extra ...string) {
	e.t.Helper()
	include := e.mnt
	if include == "" {
		include = "/nonexistent-mount-point" // CHECK fails; nothing is frozen
	}
	args := []string{"run",
		"--vss.device", e.kernel.Path(),
		"--vss.include", include,
		"--vss.hooks-dir", filepath.Join(e.t.TempDir(), "no-hooks"),
		"--disable", "kvp,vf",
		"--web.listen-address", e.listen,
		"--log.level", "debug",
	}
	e.cmd = exec.Command(agentBin, append(args, extra...)...)
	e.stderr = &lockedBuffer{}
	e.cmd.Stderr = e.stderr
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.exited = make(chan struct{})
	go func() { e.waitErr = e.cmd.Wait(); close(e.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.kernel.WaitConnected(ctx); err != nil {
		e.t.Fatalf("agent did not open the device: %v\nagent log:\n%s", err, e.stderr)
	}
}

func (e *vssEnv) kill() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.exited
}

// must runs one operation and requires the status.
func (e *vssEnv) must(op, want uint32) {
	e.t.Helper()
	st, err := e.kernel.Transact(context.Background(), op)
	if err != nil || st != want {
		e.t.Fatalf("op %d: status %d, err %v; want %d\nagent log:\n%s", op, st, err, want, e.stderr)
	}
}

// freezerPid finds the agent's child process: the freezer.
func (e *vssEnv) freezerPid() int {
	e.t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at ')'.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(e.cmd.Process.Pid) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	e.t.Fatalf("no freezer process under agent %d\nagent log:\n%s", e.cmd.Process.Pid, e.stderr)
	return 0
}

func threads(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// bgWrite creates and fsyncs a file on dir in the background; done is
// closed when it returned. Its cleanup thaws dir first, so a failed test
// never waits on a frozen filesystem.
type bgWriter struct {
	done chan struct{}
	err  error
}

func bgWrite(t *testing.T, dir string) *bgWriter {
	w := &bgWriter{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("w%d", time.Now().UnixNano())), []byte("data\n"), 0o644)
		if err == nil {
			var f *os.File
			if f, err = os.Open(dir); err == nil {
				err = f.Sync()
				f.Close()
			}
		}
		w.err = err
	}()
	t.Cleanup(func() { vsstest.ThawFS(dir); <-w.done })
	return w
}

func requireBlocked(t *testing.T, w *bgWriter, e *vssEnv) {
	t.Helper()
	select {
	case <-w.done:
		t.Fatalf("write finished on a frozen filesystem (err %v)\nagent log:\n%s", w.err, e.stderr)
	case <-time.After(300 * time.Millisecond):
	}
}

func requireDone(t *testing.T, w *bgWriter, within time.Duration, e *vssEnv) {
	t.Helper()
	select {
	case <-w.done:
		if w.err != nil {
			t.Fatalf("write: %v", w.err)
		}
	case <-time.After(within):
		t.Fatalf("write still blocked after %s: the filesystem stayed frozen\nagent log:\n%s", within, e.stderr)
	}
}

// Acceptance 1: a real freeze through the real binary, with a one-thread
// freezer, a write that blocks while frozen and completes after THAW.
func TestE2EVSSRealFreeze(t *testing.T) {
	mnt := vsstest.LoopFS(t)
	e := newVSSEnv(t, mnt, vsstest.KernelOptions{})
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
	mnt := vsstest.LoopFS(t)
	e := newVSSEnv(t, mnt, vsstest.KernelOptions{})
	e.start()
	e.must(vsstest.OpFreeze, vsstest.StatusSuccess)
	done := bgWrite(t, mnt)
	requireBlocked(t, done, e)
	e.kill()
	requireDone(t, done, time.Second, e)
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
	mnt := vsstest.LoopFS(t)
	e := newVSSEnv(t, mnt, vsstest.KernelOptions{})
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
}

// Acceptance 4 through the binary: hooks run with their output logged,
// and a hook that hangs is killed at its timeout while FREEZE still
// answers inside the kernel's 15 s. Needs no root: nothing is frozen.
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
	e := newVSSEnv(t, "", vsstest.KernelOptions{}) // the kernel's real 15 s
	// /proc is a mount with nothing to freeze: the plan is empty, and no
	// filesystem of this machine can be frozen.
	e.start("--vss.hooks-dir", hooks, "--vss.include", "/proc")
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

func waitLog(t *testing.T, e *vssEnv, s string) {
	t.Helper()
	for range 200 {
		if strings.Contains(e.stderr.String(), s) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Errorf("agent log lacks %q:\n%s", s, e.stderr)
}

func grep(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
