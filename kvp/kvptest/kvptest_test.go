package kvptest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

// newKernel starts a Kernel on a short socket path; Close runs at cleanup.
func newKernel(t *testing.T, timeout time.Duration) *Kernel {
	t.Helper()
	return newKernelProto(t, timeout, kvp.FreeBSD)
}

// newKernelProto is newKernel for protocol p.
func newKernelProto(t *testing.T, timeout time.Duration, p kvp.Protocol) *Kernel {
	t.Helper()
	dir, err := os.MkdirTemp("", "kvpt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	k, err := NewKernel(filepath.Join(dir, "kvp"), KernelOptions{Protocol: p, Timeout: timeout, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return k
}

func dial(t *testing.T, k *Kernel) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: k.Path(), Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func register(t *testing.T, c *net.UnixConn) {
	t.Helper()
	registerProto(t, c, kvp.FreeBSD)
}

// registerProto registers in p; on Linux it reads the kernel's REGISTER1
// answer, which must come before any request.
func registerProto(t *testing.T, c *net.UnixConn, p kvp.Protocol) {
	t.Helper()
	if _, err := c.Write(p.EncodeRegister("kvptest")); err != nil {
		t.Fatal(err)
	}
	if p != kvp.Linux {
		return
	}
	buf := make([]byte, 64<<10)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		t.Fatalf("reading the REGISTER1 answer: %v", err)
	}
	if v, err := kvp.Linux.DecodeRegister(buf[:n]); err != nil || v != kvp.LinuxDriverVersion {
		t.Fatalf("REGISTER1 answer of %d bytes: version %q, %v; want %q", n, v, err, kvp.LinuxDriverVersion)
	}
}

// handler is a fake daemon's answer to one decoded request.
type handler func(req kvp.Msg) (kvp.Status, kvp.Msg)

// echo answers every request with HV_S_OK and the key as the value.
func echo(req kvp.Msg) (kvp.Status, kvp.Msg) {
	return kvp.StatusOK, kvp.Msg{KV: kvp.KeyValue{Key: req.KV.Key, Value: req.KV.Key}}
}

// serve answers requests on c with h, one at a time, until c closes.
func serve(t *testing.T, c *net.UnixConn, h handler) { serveProto(t, c, h, kvp.FreeBSD) }

// serveProto is serve speaking p.
func serveProto(t *testing.T, c *net.UnixConn, h handler, p kvp.Protocol) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			st, body := kvp.StatusFail, kvp.Msg{}
			req, err := p.DecodeRequest(buf[:n])
			if err == nil {
				st, body = h(req)
			}
			b, err := p.EncodeReply(req, st, body)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
}

// startDaemon connects, registers and serves with h.
func startDaemon(t *testing.T, k *Kernel, h handler) *net.UnixConn {
	t.Helper()
	c := dial(t, k)
	registerProto(t, c, k.Protocol())
	serveProto(t, c, h, k.Protocol())
	if err := k.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func get(key string) kvp.Msg {
	return kvp.Msg{Op: kvp.OpGet, Pool: kvp.PoolGuest, KV: kvp.KeyValue{Key: key}}
}

// doGet does a GET and checks it was answered with its own key.
func doGet(t *testing.T, k *Kernel, key string) {
	t.Helper()
	r, err := k.Do(ctxT(t, 10*time.Second), get(key))
	if err != nil || r.Status != kvp.StatusOK || r.KV.Value != key {
		t.Fatalf("Do(GET %q) = %s %q, %v; want HV_S_OK %q", key, r.Status, r.KV.Value, err, key)
	}
}

func TestRegisterFirst(t *testing.T) {
	getMsg, err := kvp.EncodeRequest(get("k"))
	if err != nil {
		t.Fatal(err)
	}
	short := kvp.EncodeRegister("x")[:100]
	long := append(kvp.EncodeRegister("x"), 0)
	for _, tc := range []struct {
		name  string
		first []byte
	}{{"get first", getMsg}, {"short register", short}, {"long register", long}} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKernel(t, 0)
			errc := make(chan error, 1)
			go func() {
				_, err := k.Do(ctxT(t, 300*time.Millisecond), get("k"))
				errc <- err
			}()
			c := dial(t, k)
			if _, err := c.Write(tc.first); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, kvp.MsgSize+1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read = %d, %v; want the connection closed", n, err)
			}
			if err := <-errc; !errors.Is(err, ErrNotRegistered) {
				t.Errorf("Do: %v; want ErrNotRegistered", err)
			}
			if s := k.Stats(); s != (KernelStats{BadRegisters: 1}) {
				t.Errorf("Stats = %+v; want only BadRegisters 1", s)
			}
			// The device is free again for a well-behaved daemon.
			startDaemon(t, k, echo)
			doGet(t, k, "after")
		})
	}
}

func TestSecondConnectionRejected(t *testing.T) {
	k := newKernel(t, 0)
	startDaemon(t, k, echo)
	b := dial(t, k)
	b.Write(kvp.EncodeRegister("second")) // may fail: the kernel closes b
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := b.Read(make([]byte, kvp.MsgSize)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("second connection: Read = %d, %v; want it closed", n, err)
	}
	doGet(t, k, "still served")
	if s := k.Stats(); s.Rejected != 1 || s.Registrations != 1 {
		t.Errorf("Stats = %+v; want Rejected 1, Registrations 1", s)
	}
}

func TestOneTransactionAtATime(t *testing.T) {
	k := newKernel(t, 0)
	c := dial(t, k)
	register(t, c)
	// This daemon would answer out of order and in parallel if it could.
	var (
		mu             sync.Mutex
		inflight, peak int
		wg             sync.WaitGroup
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			req, err := kvp.DecodeRequest(buf[:n])
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inflight++
			peak = max(peak, inflight)
			mu.Unlock()
			wg.Go(func() {
				time.Sleep(5 * time.Millisecond)
				mu.Lock()
				inflight--
				mu.Unlock()
				st, body := echo(req)
				b, _ := kvp.EncodeReply(req, st, body)
				c.Write(b)
			})
		}
	}()
	t.Cleanup(func() { c.Close(); <-done; wg.Wait() })

	var callers sync.WaitGroup
	for i := range 8 {
		callers.Go(func() { doGet(t, k, string(rune('a'+i))) })
	}
	callers.Wait()
	mu.Lock()
	defer mu.Unlock()
	if peak != 1 {
		t.Errorf("daemon had up to %d requests outstanding; want 1", peak)
	}
	if s := k.Stats(); s.Requests != 8 {
		t.Errorf("Stats.Requests = %d; want 8", s.Requests)
	}
}
