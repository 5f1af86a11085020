package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// agentBin is the hvagent binary built once for the package's tests.
var agentBin string

func TestMain(m *testing.M) {
	if os.Getenv(appenderEnv) != "" {
		os.Exit(appenderMain())
	}
	if os.Getenv(slowStopEnv) != "" {
		os.Exit(slowStopMain())
	}
	dir, err := os.MkdirTemp("", "hvagent-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "hvagent")
	args := []string{"build", "-o", agentBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building hvagent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects the agent's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is one test's world: a directory, a simulated kernel and host, and
// the real agent process.
type env struct {
	t       *testing.T
	dir     string
	kernel  *kvptest.Kernel
	host    *kvptest.Host
	cmd     *exec.Cmd
	stderr  *lockedBuffer
	listen  string
	wrap    []string // command the agent runs under, e.g. ip netns exec NS
	environ []string // added to the agent's environment
	exited  chan struct{}
	waitErr error
}

// newEnv makes the directory and the simulated kernel; start runs the agent.
func newEnv(t *testing.T, opts kvptest.KernelOptions) *env {
	t.Helper()
	dir, err := os.MkdirTemp("", "hva") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	k, err := kvptest.NewKernel(filepath.Join(dir, "kvp.sock"), opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, kernel: k, host: kvptest.NewHost(k)}
	t.Cleanup(func() {
		e.kill()
		k.Close()
	})
	return e
}

func (e *env) poolDir() string { return filepath.Join(e.dir, "pool") }

// start runs the agent and waits until it registered with the kernel.
func (e *env) start(extra ...string) {
	e.t.Helper()
	e.startNoWait(extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.kernel.WaitRegistered(ctx); err != nil {
		e.t.Fatalf("agent did not register: %v\nagent log:\n%s", err, e.stderr)
	}
}

// startNoWait runs the agent with its log collected in e.stderr.
func (e *env) startNoWait(extra ...string) {
	e.t.Helper()
	args := []string{"run",
		"--kvp.device", e.kernel.Path(),
		"--kvp.protocol", e.kernel.Protocol().String(),
		"--kvp.pool-dir", e.poolDir(),
		"--web.listen-address", e.listen,
		"--disable", "vss,vf",
		"--log.level", "debug",
	}
	argv := append(append(append(slices.Clone(e.wrap), agentBin), args...), extra...)
	e.cmd = exec.Command(argv[0], argv[1:]...)
	if e.environ != nil {
		e.cmd.Env = append(os.Environ(), e.environ...)
	}
	e.stderr = &lockedBuffer{}
	e.cmd.Stderr = e.stderr
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.exited = make(chan struct{})
	go func() { e.waitErr = e.cmd.Wait(); close(e.exited) }()
}

// stop sends SIGTERM and requires a clean exit.
func (e *env) stop() {
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
	e.waitUnregistered()
}

// kill sends SIGKILL (if the agent still runs) and waits for it.
func (e *env) kill() {
	if e.cmd == nil || e.exited == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.exited
	e.waitUnregistered()
}

func (e *env) waitUnregistered() {
	for i := 0; i < 500 && e.kernel.Registered(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) mustSet(pool uint8, key, value string) {
	e.t.Helper()
	st, err := e.host.Set(ctxT(e.t), pool, key, value)
	if err != nil || st != kvp.StatusOK {
		e.t.Fatalf("SET pool %d %q: status %v, err %v\nagent log:\n%s", pool, key, st, err, e.stderr)
	}
}

// freePort returns a loopback address that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// readPoolFile parses a pool file the way an independent reader would:
// 2560-byte records, key[512] then value[2048], NUL-terminated.
func readPoolFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%2560 != 0 {
		t.Fatalf("%s: size %d is not a whole number of 2560-byte records", path, len(b))
	}
	out := map[string]string{}
	for off := 0; off < len(b); off += 2560 {
		key, _, _ := strings.Cut(string(b[off:off+512]), "\x00")
		val, _, _ := strings.Cut(string(b[off+512:off+2560]), "\x00")
		out[key] = val
	}
	return out
}

// kvpProtocols are the kernels the KVP end-to-end tests run against.
var kvpProtocols = []kvp.Protocol{kvp.FreeBSD, kvp.Linux}

// forEachProtocol runs test once per KVP protocol, as a subtest named
// after it, with a simulated kernel of that protocol (opts.Protocol is
// set for it).
func forEachProtocol(t *testing.T, opts kvptest.KernelOptions, test func(t *testing.T, e *env)) {
	for _, p := range kvpProtocols {
		t.Run(p.String(), func(t *testing.T) {
			o := opts
			o.Protocol = p
			test(t, newEnv(t, o))
		})
	}
}
