package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/gotool"
	"github.com/hvagent/hvagent/kvp"
)

// result holds the samples of one pool size: the time of each request.
type result struct {
	records int
	// floor is the echo of a peer in another process, as the agent is;
	// threadFloor that of a peer thread in this process.
	floor, threadFloor, get, enumerate []time.Duration
	enumerations                       int // whole walks
	// CPU time per request of the agent's process and of the echo
	// peer's (cpuTime), over the timed rounds; cpuOK false where
	// unavailable.
	agentCPU, echoCPU time.Duration
	cpuOK             bool
}

// run measures every pool size of o, each against a fresh agent.
func run(ctx context.Context, o options, log io.Writer) ([]result, error) {
	dir, err := os.MkdirTemp("", "hvbench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := o.agent
	if bin == "" {
		if bin, err = buildAgent(ctx, dir, log); err != nil {
			return nil, err
		}
	}
	var results []result
	for _, n := range o.records {
		r, err := measure(ctx, o, bin, filepath.Join(dir, fmt.Sprint(n)), n, log)
		if err != nil {
			return nil, fmt.Errorf("%d records: %w", n, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// runIPInfo measures GET_IP_INFO (measureIPInfo) against the agent.
func runIPInfo(ctx context.Context, o options, log io.Writer) (ipResult, error) {
	if os.Geteuid() != 0 {
		return ipResult{}, errNeedRoot
	}
	dir, err := os.MkdirTemp("", "hvbench")
	if err != nil {
		return ipResult{}, err
	}
	defer os.RemoveAll(dir)
	bin := o.agent
	if bin == "" {
		if bin, err = buildAgent(ctx, dir, log); err != nil {
			return ipResult{}, err
		}
	}
	return measureIPInfo(ctx, o.protocol, bin, filepath.Join(dir, "ipinfo"), o.ipinfo, log)
}

// measure starts the agent on a pool of n records in dir and times the
// floor, GETs and enumeration steps in alternating rounds.
func measure(ctx context.Context, o options, bin, dir string, n int, log io.Writer) (result, error) {
	r := result{records: n}
	if err := writePool(filepath.Join(dir, "pool"), n); err != nil {
		return r, err
	}
	host, agentPID, stopAgent, err := startAgent(ctx, o.protocol, bin, dir, log, nil)
	if err != nil {
		return r, err
	}
	defer stopAgent()
	echo, echoPID, stopEcho, err := startEcho(true)
	if err != nil {
		return r, err
	}
	defer stopEcho()
	threadEcho, _, stopThreadEcho, err := startEcho(false)
	if err != nil {
		return r, err
	}
	defer stopThreadEcho()

	c := newClient(o.protocol)
	get := c.request(kvp.Msg{Op: kvp.OpGet, Pool: kvp.PoolGuest, KV: kvp.KeyValue{Key: poolKey(n / 2)}})
	walk := make([][]byte, n+1) // index 0 to HV_S_CONT, as the host walks a pool
	for i := range walk {
		walk[i] = c.request(kvp.Msg{Op: kvp.OpEnumerate, Pool: kvp.PoolGuest, Index: uint32(i)})
	}
	// A first round of each, untimed: the agent's first requests fault in
	// its code and create its metric series.
	if err := c.warm(host, echo, threadEcho, get, walk); err != nil {
		return r, err
	}
	agentCPU, echoCPU := startCPU(agentPID), startCPU(echoPID)
	for range o.rounds {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		if err := c.round(o, echo, threadEcho, host, get, walk, &r); err != nil {
			return r, err
		}
	}
	// The echo peer also answered the untimed echo before each thread
	// echo (round).
	a, aok := agentCPU.perRequest(len(r.get) + len(r.enumerate))
	e, eok := echoCPU.perRequest(len(r.floor) + len(r.threadFloor))
	r.agentCPU, r.echoCPU, r.cpuOK = a, e, aok && eok
	return r, nil
}

// round times whole walks of the pool, at least o.steps steps, each
// step and a GET between echoes: echo, GET, echo, ENUMERATE, and so on.
// Every request to the agent follows one to the echo peer and the other
// way round, so both processes run under the same conditions (what else
// the machine runs, which CPU each last ran on, how long each slept).
// Timed in blocks, or with a series sampled less often or always after
// another of the same process, one side wakes colder or warmer than the
// other, and on the 2-core development VM that alone moved the ratios by
// half. A block of o.gets thread echoes, each after an untimed process
// echo, ends the round.
func (cl *client) round(o options, echo, threadEcho, host int, get []byte, walk [][]byte, r *result) error {
	floor := func() error {
		d, err := cl.transact(echo, get, kvp.OpGet, anyReply)
		if err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		r.floor = append(r.floor, d)
		return nil
	}
	walks := max(1, (o.steps+len(walk)-1)/len(walk))
	for i := range walks * len(walk) {
		if err := floor(); err != nil {
			return err
		}
		d, err := cl.transact(host, get, kvp.OpGet, kvp.StatusOK)
		if err != nil {
			return fmt.Errorf("GET: %w", err)
		}
		r.get = append(r.get, d)
		if err := floor(); err != nil {
			return err
		}
		step := i % len(walk)
		if d, err = cl.transact(host, walk[step], kvp.OpEnumerate, walkStatus(step, len(walk))); err != nil {
			return fmt.Errorf("ENUMERATE %d: %w", step, err)
		}
		r.enumerate = append(r.enumerate, d)
		if step == len(walk)-1 {
			r.enumerations++
		}
	}
	for range o.gets {
		if _, err := cl.transact(echo, get, kvp.OpGet, anyReply); err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		d, err := cl.transact(threadEcho, get, kvp.OpGet, anyReply)
		if err != nil {
			return fmt.Errorf("echo thread: %w", err)
		}
		r.threadFloor = append(r.threadFloor, d)
	}
	return nil
}

// walkStatus is the status step i of a walk of n requests answers: the
// last one, past the pool's end, HV_S_CONT.
func walkStatus(i, n int) kvp.Status {
	if i == n-1 {
		return kvp.StatusCont
	}
	return kvp.StatusOK
}

// anyReply makes transact take any reply of the right size: the echo's.
const anyReply = kvp.Status(0xffffffff)

// client is the host's timing loop: one request datagram out, one reply
// datagram in, with blocking write(2) and read(2) on a blocking socket,
// as a C loop does (and not through the Go runtime's network poller,
// which would add its own thread's wake-up to every figure).
type client struct {
	proto kvp.Protocol
	reply []byte
}

func newClient(p kvp.Protocol) *client {
	return &client{proto: p, reply: make([]byte, p.MsgSize()+1)}
}

// transact sends req on fd, waits for the reply and checks its status.
func (cl *client) transact(fd int, req []byte, op kvp.Op, want kvp.Status) (time.Duration, error) {
	start := time.Now()
	if _, err := unix.Write(fd, req); err != nil {
		return 0, err
	}
	n, err := unix.Read(fd, cl.reply)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if n != cl.proto.MsgSize() {
		return 0, fmt.Errorf("reply of %d bytes", n)
	}
	if want == anyReply {
		return d, nil
	}
	m, err := cl.proto.DecodeReply(cl.reply[:n], op)
	if err != nil {
		return 0, err
	}
	if m.Status != want {
		return 0, fmt.Errorf("status %v, want %v", m.Status, want)
	}
	return d, nil
}

// walk enumerates the pool once, index 0 to HV_S_CONT, untimed.
func (cl *client) walk(host int, walk [][]byte) error {
	for i, req := range walk {
		if _, err := cl.transact(host, req, kvp.OpEnumerate, walkStatus(i, len(walk))); err != nil {
			return fmt.Errorf("ENUMERATE %d: %w", i, err)
		}
	}
	return nil
}

func (cl *client) warm(host, echo, threadEcho int, get []byte, walk [][]byte) error {
	for range 100 {
		if _, err := cl.transact(echo, get, kvp.OpGet, anyReply); err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		if _, err := cl.transact(threadEcho, get, kvp.OpGet, anyReply); err != nil {
			return fmt.Errorf("echo thread: %w", err)
		}
		if _, err := cl.transact(host, get, kvp.OpGet, kvp.StatusOK); err != nil {
			return fmt.Errorf("GET: %w", err)
		}
	}
	return cl.walk(host, walk)
}

func poolKey(i int) string { return fmt.Sprintf("bench-key-%06d", i) }

// request encodes m in the client's protocol.
func (cl *client) request(m kvp.Msg) []byte {
	b, err := cl.proto.EncodeRequest(m)
	if err != nil {
		panic(err) // the benchmark's own requests always fit
	}
	return b
}

// writePool writes n records into pool 1 of dir directly, as another
// writer would, in the pool file format (2560-byte records: key[512],
// value[2048], each NUL-terminated and zero-filled; struct kvp_record in
// FreeBSD's contrib/hyperv/tools/hv_kvp_daemon.c).
func writePool(dir string, n int) error {
	const keySize, recordSize = kvp.MaxKeySize, kvp.MaxKeySize + kvp.MaxValueSize
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b := make([]byte, n*recordSize)
	for i := range n {
		rec := b[i*recordSize:]
		copy(rec[:keySize-1], poolKey(i))
		copy(rec[keySize:recordSize-1], fmt.Sprintf("value of record %d", i))
	}
	if err := os.WriteFile(filepath.Join(dir, ".kvp_pool_1"), b, 0o600); err != nil {
		return err
	}
	// Let the file's last change be older than the agent's racy window
	// (kvp/pool_state.go): the agent would otherwise read the fresh file
	// again under its locks for its first few requests. The warm-up
	// covers it too; this makes it certain.
	time.Sleep(50 * time.Millisecond)
	return nil
}

// startAgent listens on dir/kvp.sock as the KVP kernel would, starts the
// agent on it with only the KVP subsystem, and returns the connection, a
// blocking descriptor, once the agent has registered. The agent's
// command is wrap (empty, or a command that runs the rest, such as
// "ip netns exec NAME"), bin and its run flags, then extra.
func startAgent(ctx context.Context, proto kvp.Protocol, bin, dir string, log io.Writer, wrap []string, extra ...string) (fd, pid int, stop func(), err error) {
	sock := filepath.Join(dir, "kvp.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		return -1, 0, nil, err
	}
	defer ln.Close()
	argv := append(slices.Clone(wrap), bin, "run", "--kvp.device", sock, "--kvp.pool-dir", filepath.Join(dir, "pool"),
		"--kvp.protocol", proto.String(), "--disable", "vss,vf", "--web.listen-address", "", "--log.level", "warn")
	agent := exec.Command(argv[0], append(argv[1:], extra...)...)
	agent.Stderr = log
	if err := agent.Start(); err != nil {
		return -1, 0, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	halt := func() {
		agent.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			agent.Process.Kill()
			<-exited
		}
	}
	type accepted struct {
		c   *net.UnixConn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.AcceptUnix()
		ch <- accepted{c, err}
	}()
	var a accepted
	select {
	case a = <-ch:
	case err := <-exited:
		exited <- err
		ln.Close()
		return -1, 0, nil, fmt.Errorf("agent exited before connecting: %v", err)
	case <-ctx.Done():
		ln.Close()
		halt()
		return -1, 0, nil, ctx.Err()
	}
	if a.err != nil {
		halt()
		return -1, 0, nil, a.err
	}
	reg := make([]byte, proto.MsgSize()+1)
	if n, err := a.c.Read(reg); err != nil || !proto.IsRegister(reg[:n]) {
		a.c.Close()
		halt()
		return -1, 0, nil, fmt.Errorf("no %v registration from the agent (%d bytes, %v)", proto, n, err)
	}
	// The Linux kernel answers REGISTER1 with its own, version "3.1",
	// before it posts any request (kvp_register_done in Linux's
	// drivers/hv/hv_kvp.c); the agent waits for it.
	if proto == kvp.Linux {
		if _, err := a.c.Write(proto.EncodeRegister(kvp.LinuxDriverVersion)); err != nil {
			a.c.Close()
			halt()
			return -1, 0, nil, fmt.Errorf("answering the registration: %w", err)
		}
	}
	// A duplicate of the descriptor, which Fd puts in blocking mode (the
	// mode belongs to the open file, shared with the original, which is
	// closed unused).
	f, err := a.c.File()
	a.c.Close()
	if err != nil {
		halt()
		return -1, 0, nil, err
	}
	// The agent stops first, so that it does not see the host go away.
	return int(f.Fd()), agent.Process.Pid, func() { halt(); f.Close() }, nil
}

// startEcho starts an echo peer that sends every datagram straight back
// over a SOCK_SEQPACKET socket pair, with blocking read(2) and write(2),
// and returns the host's end. The peer is this program again, in a
// process of its own (echoChild), when process is set; otherwise a
// goroutine locked to a thread of its own.
//
// The floor is the peer in another process, because the agent is one:
// waking it takes a switch to another address space, which a peer thread
// of the host's process does not (on the 2-core development VM the thread
// echo's p50 is about half the process echo's). A peer waiting in the Go
// runtime's network poller of the host's own process would be cheaper
// still: the host's thread runs it as soon as it blocks, with no wake-up
// at all.
func startEcho(process bool) (fd, pid int, stop func(), err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, nil, err
	}
	host, peer := fds[0], fds[1]
	if process {
		return startEchoProcess(host, peer)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		echo(peer)
	}()
	stop = func() {
		unix.Shutdown(host, unix.SHUT_RDWR) // the peer reads 0 and returns
		<-done
		unix.Close(host)
		unix.Close(peer)
	}
	return host, 0, stop, nil
}

// echoEnv, set in its environment, makes this program the echo peer on
// descriptor 3 (see echoChild).
const echoEnv = "HVBENCH_ECHO_PEER"

func startEchoProcess(host, peer int) (fd, pid int, stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return -1, 0, nil, err
	}
	f := os.NewFile(uintptr(peer), "echo peer")
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), echoEnv+"=1")
	cmd.ExtraFiles = []*os.File{f} // descriptor 3
	err = cmd.Start()
	f.Close()
	if err != nil {
		unix.Close(host)
		return -1, 0, nil, fmt.Errorf("echo peer: %w", err)
	}
	stop = func() {
		unix.Shutdown(host, unix.SHUT_RDWR)
		cmd.Wait()
		unix.Close(host)
	}
	return host, cmd.Process.Pid, stop, nil
}

// echoChild runs the echo peer if this process was started as one, and
// reports whether it was.
func echoChild() bool {
	if os.Getenv(echoEnv) != "1" {
		return false
	}
	echo(3)
	return true
}

// echo sends each datagram on fd back until the other end shuts down.
func echo(fd int) {
	runtime.LockOSThread()
	buf := make([]byte, kvp.LinuxMsgSize+1) // either protocol's message
	for {
		n, err := unix.Read(fd, buf)
		if err != nil || n == 0 {
			return
		}
		if _, err := unix.Write(fd, buf[:n]); err != nil {
			return
		}
	}
}

func buildAgent(ctx context.Context, dir string, log io.Writer) (string, error) {
	goBin, err := gotool.Path()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hvagent")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/hvagent/hvagent/cmd/hvagent")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building hvagent: %w", err)
	}
	return bin, nil
}

// percentile returns the p-th percentile (0-100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) (time.Duration, error) {
	if len(ds) == 0 {
		return 0, errors.New("no samples")
	}
	s := slices.Sorted(slices.Values(ds))
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)], nil
}
