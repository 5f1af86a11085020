package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hvagent/hvagent/vf/vftest"
)

// vfEnv is one VF scenario: a simulated devd, a simulated system with
// fake commands on PATH, and the real agent with only the vf subsystem.
type vfEnv struct {
	t       *testing.T
	dir     string
	world   *vftest.World
	devd    *vftest.Devd
	listen  string
	cmd     *exec.Cmd
	stderr  *lockedBuffer
	exited  chan struct{}
	waitErr error
	// t0 is the scenario's clock origin; events carry t0+offset.
	t0 time.Time
}

var fakes struct {
	once sync.Once
	path string
	err  error
}

// fakeBin builds the fake commands once, next to the agent binary.
func fakeBin(t *testing.T) string {
	t.Helper()
	fakes.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		fakes.path, fakes.err = vftest.BuildFakes(ctx, filepath.Dir(agentBin))
	})
	if fakes.err != nil {
		t.Fatal(fakes.err)
	}
	return fakes.path
}

func newVFEnv(t *testing.T, setup func(*vftest.State)) *vfEnv {
	t.Helper()
	dir, err := os.MkdirTemp("", "hvf") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	w, err := vftest.NewWorld(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Install(fakeBin(t)); err != nil {
		t.Fatal(err)
	}
	if err := w.Update(setup); err != nil {
		t.Fatal(err)
	}
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	e := &vfEnv{t: t, dir: dir, world: w, devd: d, listen: freePort(t), t0: time.Unix(1_800_000_000, 0)}
	t.Cleanup(func() {
		e.kill()
		d.Close()
	})
	return e
}

func (e *vfEnv) overrideDir() string { return filepath.Join(e.dir, "libexec") }
func (e *vfEnv) baseRules() string   { return filepath.Join(e.dir, "hyperv.conf") }

// start runs the agent and waits until it follows devd.
func (e *vfEnv) start(mode string) {
	e.t.Helper()
	e.cmd = exec.Command(agentBin, "run",
		"--disable", "kvp,vss",
		"--vf.protocol", "freebsd", // the simulated kernel is FreeBSD's
		"--vf.devd-socket", e.devd.Path(),
		"--vf.mode", mode,
		"--vf.base-rules", e.baseRules(),
		"--vf.override-dir", e.overrideDir(),
		"--vf.sysctl-command",
		"--web.listen-address", e.listen,
		"--log.level", "debug")
	e.cmd.Env = e.world.Env()
	e.stderr = &lockedBuffer{}
	e.cmd.Stderr = e.stderr
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.exited = make(chan struct{})
	go func() { e.waitErr = e.cmd.Wait(); close(e.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.devd.WaitClients(ctx, 1); err != nil {
		e.t.Fatalf("agent did not connect to devd: %v\nagent log:\n%s", err, e.stderr)
	}
	e.waitMetric(`hvagent_subsystem_up{subsystem="vf"}`, 1)
}

func (e *vfEnv) kill() {
	if e.cmd == nil || e.exited == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.exited
}

// stop sends SIGTERM and requires a clean exit.
func (e *vfEnv) stop() {
	e.t.Helper()
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(20 * time.Second):
		e.t.Fatalf("agent ignored SIGTERM\nagent log:\n%s", e.stderr)
	}
	if e.waitErr != nil {
		e.t.Fatalf("agent exited with %v\nagent log:\n%s", e.waitErr, e.stderr)
	}
}

// send delivers one devd event stamped t0+at.
func (e *vfEnv) send(at time.Duration, system, subsystem, typ string) {
	e.t.Helper()
	ts := e.t0.Add(at)
	line := fmt.Sprintf("!system=%s subsystem=%s type=%s timestamp=%d.%09d", system, subsystem, typ, ts.Unix(), ts.Nanosecond())
	if e.devd.Send(line) == 0 {
		e.t.Fatalf("no devd client got %q\nagent log:\n%s", line, e.stderr)
	}
}

func (e *vfEnv) update(fn func(*vftest.State)) {
	e.t.Helper()
	if err := e.world.Update(fn); err != nil {
		e.t.Fatal(err)
	}
}

// scrape returns every sample of /metrics by its series name.
func (e *vfEnv) scrape() (map[string]float64, string) {
	e.t.Helper()
	resp, err := http.Get("http://" + e.listen + "/metrics")
	if err != nil {
		return nil, ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, ""
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err == nil {
			out[l[:i]] = v
		}
	}
	return out, string(body)
}

// waitMetric waits until series has value want.
func (e *vfEnv) waitMetric(series string, want float64) {
	e.t.Helper()
	e.waitMetrics(map[string]float64{series: want})
}

// waitMetrics waits until every series has its value.
func (e *vfEnv) waitMetrics(want map[string]float64) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, body := e.scrape()
		var bad []string
		for s, v := range want {
			if g, ok := got[s]; !ok || g != v {
				bad = append(bad, fmt.Sprintf("%s = %v (present %v), want %v", s, g, ok, v))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			slices.Sort(bad)
			e.t.Fatalf("metrics not as expected:\n  %s\nscrape:\n%s\nagent log:\n%s", strings.Join(bad, "\n  "), vfLines(body), e.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func vfLines(body string) string {
	var out []string
	for l := range strings.Lines(body) {
		if strings.HasPrefix(l, "hvagent_vf") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// calls returns the recorded commands other than sysctl reads.
func (e *vfEnv) calls() []string {
	e.t.Helper()
	cs, err := e.world.Calls()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		if c.Argv[0] != "sysctl" {
			out = append(out, c.String())
		}
	}
	return out
}

// waitCalls waits until at least n non-sysctl commands ran.
func (e *vfEnv) waitCalls(n int) []string {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := e.calls()
		if len(c) >= n {
			return c
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("waited for %d commands, got %d:\n  %s\nagent log:\n%s", n, len(c), strings.Join(c, "\n  "), e.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mutating drops the read-only commands: queries of an interface and
// rc.conf reads.
func mutating(calls []string) []string {
	return slices.DeleteFunc(slices.Clone(calls), func(c string) bool {
		f := strings.Fields(c)
		return f[0] == "sysrc" || (f[0] == "ifconfig" && len(f) == 2)
	})
}

// promtoolCheckMetrics lints a real scrape with promtool. Without
// promtool the check is skipped, except in CI, which installs it.
func promtoolCheckMetrics(t *testing.T, body string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool is not on PATH, and CI must install it: %v", err)
		}
		t.Logf("promtool is not on PATH (%v); skipping 'promtool check metrics'", err)
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
