package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// fdLimit is the RLIMIT_NOFILE the agent runs under: low enough that 500
// connections would exhaust it many times over.
const fdLimit = 64

// connKind is what a held metrics connection does.
type connKind int

const (
	connIdle     connKind = iota // connects and sends nothing
	connHalfSent                 // sends part of its request headers
	connAuthed                   // an authenticated scrape, then keep-alive
	connRefused                  // a scrape without credentials (401), then keep-alive
	connKinds
)

func (k connKind) String() string {
	return [...]string{"idle", "half-sent", "authenticated keep-alive", "refused keep-alive"}[k]
}

// heldConn is one connection to /metrics and how it ended.
type heldConn struct {
	kind   connKind
	status int   // the response's status, for connAuthed and connRefused
	err    error // why the connection ended: io.EOF when the server closed it
}

// Issue 12, item 1: under RLIMIT_NOFILE 64, 500 connections held open to
// the metrics endpoint do not starve the host: KVP SET, GET and ENUMERATE
// and a VSS CHECK, FREEZE and THAW all succeed, the agent keeps a quarter
// of its descriptors free throughout, and the server closes every held
// connection by itself.
func TestE2EMetricsConnectionsDoNotStarveHost(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skipf("prlimit (util-linux) is not on PATH: %v", err)
	}
	mnt := vsstest.LoopFS(t)
	e := newEnv(t, kvptest.KernelOptions{})
	vk, err := vsstest.NewKernel(filepath.Join(e.dir, "vss.sock"), vsstest.KernelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		vsstest.ThawFS(mnt) // never leave it frozen, whatever failed
		e.kill()
		vk.Close()
	})
	webConfig := filepath.Join(e.dir, "web.yml")
	writeFile(t, webConfig, "basic_auth_users:\n  "+sampleUser+": "+sampleHash(t)+"\n", 0o600)
	e.listen = freePort(t)
	// The limit applies to the agent alone: prlimit sets it, then execs.
	e.wrap = []string{prlimit, fmt.Sprintf("--nofile=%d:%d", fdLimit, fdLimit), "--"}
	e.start(
		"--disable", "vf",
		"--vss.protocol", "freebsd", // vk is a FreeBSD kernel
		"--vss.device", vk.Path(),
		"--vss.include", mnt,
		"--vss.hooks-dir", filepath.Join(e.dir, "no-hooks"),
		"--web.config.file", webConfig,
		// More than the limit allows: the agent lowers it to keep its reserve.
		"--web.max-connections", "1000",
		"--web.read-timeout", "1s",
		"--web.idle-timeout", "1s",
	)
	ctx := ctxT(t)
	if err := vk.WaitConnected(ctx); err != nil {
		t.Fatalf("agent did not open the VSS device: %v\nagent log:\n%s", err, e.stderr)
	}
	e.waitLog(fmt.Sprintf("soft=%d hard=%d", fdLimit, fdLimit))
	// Metrics are served before the load.
	if code := authedScrape(t, e.listen); code != http.StatusOK {
		t.Fatalf("authenticated scrape before the load: status %d\nagent log:\n%s", code, e.stderr)
	}

	fds := watchFDs(e.cmd.Process.Pid)
	conns := holdConnections(t, e.listen, 500)

	// While the connections are held: the host's requests.
	e.mustSet(0, "fdlimit-key", "fdlimit-value")
	if v, st, err := e.host.Get(ctx, 0, "fdlimit-key"); err != nil || st != kvp.StatusOK || v != "fdlimit-value" {
		t.Errorf("GET under load: %q, status %v, err %v", v, st, err)
	}
	if kvs, st, err := e.host.Enumerate(ctx, 0); err != nil || st != kvp.StatusCont || len(kvs) != 1 {
		t.Errorf("ENUMERATE under load: %v, status %v, err %v", kvs, st, err)
	}
	for _, op := range []uint32{vsstest.OpCheck, vsstest.OpFreeze, vsstest.OpThaw} {
		if st, err := vk.Transact(ctx, op); err != nil || st != vsstest.StatusSuccess {
			t.Errorf("VSS operation %d under load: status %d, err %v", op, st, err)
		}
	}

	// Every connection is closed by the server, by its read or idle
	// timeout; the deadline is generous, the timeouts are not.
	ended := conns.wait()
	maxFDs := fds.stop()
	byKind := map[connKind]int{}
	for _, c := range ended {
		if !errors.Is(c.err, io.EOF) && !errors.Is(c.err, net.ErrClosed) && !isReset(c.err) {
			t.Errorf("%s connection: not closed by the server: %v", c.kind, c.err)
			continue
		}
		byKind[c.kind]++
		switch {
		case c.kind == connAuthed && c.status != http.StatusOK,
			c.kind == connRefused && c.status != http.StatusUnauthorized:
			t.Errorf("%s connection: status %d", c.kind, c.status)
		}
	}
	t.Logf("connections closed by the server: %v; most descriptors open at once: %d of %d", byKind, maxFDs, fdLimit)
	if maxFDs > fdLimit*3/4 {
		t.Errorf("the agent had %d descriptors open under a limit of %d; want at least a quarter free", maxFDs, fdLimit)
	}
	if code := authedScrape(t, e.listen); code != http.StatusOK {
		t.Errorf("authenticated scrape after the load: status %d", code)
	}
	if strings.Contains(e.stderr.String(), "too many open files") {
		t.Errorf("the agent ran out of descriptors\nagent log:\n%s", e.stderr)
	}
	if t.Failed() {
		t.Logf("agent log:\n%s", e.stderr)
	}
	e.stop()
}

// sampleHash is the bcrypt hash in the packaged web configuration sample.
func sampleHash(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(webConfigSample)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if user, hash, ok := strings.Cut(strings.TrimSpace(line), ": "); ok && user == sampleUser {
			return hash
		}
	}
	t.Fatalf("%s has no hash for %s", webConfigSample, sampleUser)
	return ""
}

func authedScrape(t *testing.T, addr string) int {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.SetBasicAuth(sampleUser, samplePassword)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "connection reset")
}

// heldConns are connections held open to the metrics endpoint.
type heldConns struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	ended []heldConn
}

// holdConnections opens n connections of every kind in turn; each is held
// until the server closes it, or until a deadline long past every timeout.
func holdConnections(t *testing.T, addr string, n int) *heldConns {
	t.Helper()
	h := &heldConns{}
	deadline := time.Now().Add(5 * time.Minute)
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, 30*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(deadline)
		kind := connKind(i % int(connKinds))
		h.wg.Go(func() {
			r := hold(c, kind)
			h.mu.Lock()
			h.ended = append(h.ended, r)
			h.mu.Unlock()
		})
	}
	return h
}

func (h *heldConns) wait() []heldConn {
	h.wg.Wait()
	return h.ended
}

// hold plays one connection of the kind and reads until it ends.
func hold(c net.Conn, kind connKind) heldConn {
	r := heldConn{kind: kind}
	br := bufio.NewReader(c)
	const head = "GET /metrics HTTP/1.1\r\nHost: hvagent\r\n"
	switch kind {
	case connHalfSent:
		_, r.err = io.WriteString(c, head)
	case connAuthed, connRefused:
		req, _ := http.NewRequest(http.MethodGet, "http://hvagent/metrics", nil)
		if kind == connAuthed {
			req.SetBasicAuth(sampleUser, samplePassword)
		}
		if r.err = req.Write(c); r.err != nil {
			return r
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			r.err = err
			return r
		}
		r.status = resp.StatusCode
		_, r.err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if r.err != nil {
		return r
	}
	// Keep-alive: the server must close it; a byte here would be wrong.
	var b [1]byte
	if n, err := br.Read(b[:]); n > 0 {
		r.err = fmt.Errorf("unexpected byte %q after the response", b[0])
	} else {
		r.err = err
	}
	return r
}

// fdWatch samples how many descriptors a process has open.
type fdWatch struct {
	max  atomic.Int64
	stop func() int
}

func watchFDs(pid int) *fdWatch {
	w := &fdWatch{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if ents, err := os.ReadDir(dir); err == nil && int64(len(ents)) > w.max.Load() {
				w.max.Store(int64(len(ents)))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	w.stop = func() int { cancel(); <-done; return int(w.max.Load()) }
	return w
}
