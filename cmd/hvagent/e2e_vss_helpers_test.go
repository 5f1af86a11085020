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

	"github.com/hvagent/hvagent/vss/vsstest"
)

// vssEnv is one VSS test's world: a simulated kernel, and the real agent
// with only the vss subsystem, freezing at most the loop-mounted
// filesystem the test made (--vss.include).
type vssEnv struct {
	t       *testing.T
	kernel  *vsstest.Kernel      // FreeBSD protocol, or
	lk      *vsstest.LinuxKernel // Linux protocol (--vss.protocol linux)
	mnt     string
	listen  string
	cmd     *exec.Cmd
	stderr  *lockedBuffer
	exited  chan struct{}
	waitErr error
	// ownGroup starts the agent as the leader of its own process group.
	ownGroup bool
}

func newVSSEnv(t *testing.T, mnt string, opts vsstest.KernelOptions) *vssEnv {
	t.Helper()
	k, err := vsstest.NewKernel(filepath.Join(socketDir(t), "vss.sock"), opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &vssEnv{t: t, kernel: k, mnt: mnt, listen: freePort(t)}
	e.cleanup(k.Close)
	return e
}

// newLinuxVSSEnv is newVSSEnv with a simulated Linux kernel, the agent
// speaking --vss.protocol linux.
func newLinuxVSSEnv(t *testing.T, mnt string, opts vsstest.LinuxKernelOptions) *vssEnv {
	t.Helper()
	k, err := vsstest.NewLinuxKernel(filepath.Join(socketDir(t), "vss.sock"), opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &vssEnv{t: t, lk: k, mnt: mnt, listen: freePort(t)}
	e.cleanup(k.Close)
	return e
}

// newProtoVSSEnv is the env of the protocol, each kernel with its own
// default timeouts.
func newProtoVSSEnv(t *testing.T, proto, mnt string) *vssEnv {
	t.Helper()
	if proto == "linux" {
		return newLinuxVSSEnv(t, mnt, vsstest.LinuxKernelOptions{})
	}
	return newVSSEnv(t, mnt, vsstest.KernelOptions{})
}

// eachVSSProtocol runs f once per kernel protocol.
func eachVSSProtocol(t *testing.T, f func(t *testing.T, proto string)) {
	for _, proto := range []string{"freebsd", "linux"} {
		t.Run(proto, func(t *testing.T) { f(t, proto) })
	}
}

func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hvv") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (e *vssEnv) cleanup(closeKernel func() error) {
	e.t.Cleanup(func() {
		if e.mnt != "" {
			vsstest.ThawFS(e.mnt) // never leave it frozen, whatever failed
		}
		e.kill()
		_ = closeKernel()
	})
}

func (e *vssEnv) path() string {
	if e.lk != nil {
		return e.lk.Path()
	}
	return e.kernel.Path()
}

func (e *vssEnv) protocol() string {
	if e.lk != nil {
		return "linux"
	}
	return "freebsd"
}

// start runs the agent and waits until it holds the device.
func (e *vssEnv) start(extra ...string) {
	e.t.Helper()
	include := e.mnt
	if include == "" {
		include = "/nonexistent-mount-point" // CHECK fails; nothing is frozen
	}
	args := []string{"run",
		"--vss.protocol", e.protocol(),
		"--vss.device", e.path(),
		"--vss.include", include,
		"--vss.hooks-dir", filepath.Join(e.t.TempDir(), "no-hooks"),
		"--disable", "kvp,vf",
		"--web.listen-address", e.listen,
		"--log.level", "debug",
	}
	e.cmd = exec.Command(agentBin, append(args, extra...)...)
	if e.ownGroup {
		e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	e.stderr = &lockedBuffer{}
	e.cmd.Stderr = e.stderr
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.exited = make(chan struct{})
	go func() { e.waitErr = e.cmd.Wait(); close(e.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wait := func(ctx context.Context) error {
		if e.lk != nil {
			return e.lk.WaitConnected(ctx)
		}
		return e.kernel.WaitConnected(ctx)
	}
	if err := wait(ctx); err != nil {
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

// The Linux operation and reply error for each FreeBSD operation and
// status, so one test body runs in both protocols: HOT_BACKUP is CHECK,
// and a failure is HV_E_FAIL.
var (
	linuxOp     = map[uint32]byte{vsstest.OpCheck: vsstest.LinuxOpHotBackup, vsstest.OpFreeze: vsstest.LinuxOpFreeze, vsstest.OpThaw: vsstest.LinuxOpThaw}
	linuxStatus = map[uint32]uint32{vsstest.StatusSuccess: vsstest.HVSOK, vsstest.StatusFailure: vsstest.HVEFail}
)

// must runs one operation and requires the status, both given in the
// FreeBSD protocol's terms and translated for the Linux one.
func (e *vssEnv) must(op, want uint32) {
	e.t.Helper()
	if e.lk != nil {
		e.mustLinux(linuxOp[op], linuxStatus[want])
		return
	}
	st, err := e.kernel.Transact(context.Background(), op)
	if err != nil || st != want {
		e.t.Fatalf("op %d: status %d, err %v; want %d\nagent log:\n%s", op, st, err, want, e.stderr)
	}
}

// mustLinux runs one Linux operation and requires the reply's error.
func (e *vssEnv) mustLinux(op byte, want uint32) {
	e.t.Helper()
	got, err := e.lk.Transact(context.Background(), op)
	if err != nil || got != want {
		e.t.Fatalf("op %d: error %#x, err %v; want %#x\nagent log:\n%s", op, got, err, want, e.stderr)
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
