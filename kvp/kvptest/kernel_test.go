package kvptest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

func TestTimeoutDropsLateReply(t *testing.T) {
	k := newKernel(t, 200*time.Millisecond)
	release := make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	var (
		mu   sync.Mutex
		seen []string
	)
	startDaemon(t, k, func(req kvp.Msg) (kvp.Status, kvp.Msg) {
		mu.Lock()
		seen = append(seen, req.KV.Key)
		mu.Unlock()
		if req.KV.Key == "slow" {
			<-release
		}
		return echo(req)
	})
	t.Cleanup(unblock) // runs before the daemon's cleanup waits for it

	r, err := k.Do(ctxT(t, 5*time.Second), get("slow"))
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrBusy) || r.Status != kvp.StatusFail {
		t.Fatalf("slow request: %s, %v; want HV_E_FAIL and ErrTimeout", r.Status, err)
	}
	// The daemon still owes the slow reply: like hv_kvp.c, the kernel
	// does not hand it the next request, which fails at its deadline.
	r, err = k.Do(ctxT(t, 5*time.Second), get("busy"))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrBusy) || r.Status != kvp.StatusFail {
		t.Fatalf("request while busy: %s, %v; want HV_E_FAIL, ErrTimeout and ErrBusy", r.Status, err)
	}
	unblock()
	waitFor(t, "the late reply", func() bool { return k.Stats().LateReplies == 1 })
	doGet(t, k, "fast") // its own answer, not the slow one's
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"slow", "fast"}; !slices.Equal(seen, want) {
		t.Errorf("daemon saw %q; want %q", seen, want)
	}
	want := KernelStats{Registrations: 1, Requests: 2, Timeouts: 2, LateReplies: 1}
	if s := k.Stats(); s != want {
		t.Errorf("Stats = %+v; want %+v", s, want)
	}
}

func TestUnsolicitedReplyIsLate(t *testing.T) {
	k := newKernel(t, 0)
	c := dial(t, k)
	register(t, c)
	b, err := kvp.EncodeReply(get("bogus"), kvp.StatusOK, kvp.Msg{KV: kvp.KeyValue{Key: "bogus", Value: "bogus"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unsolicited reply", func() bool { return k.Stats().LateReplies == 1 })
	serve(t, c, echo)
	doGet(t, k, "mine")
}

func TestWrongSizeReplyIgnored(t *testing.T) {
	k := newKernel(t, 0)
	d := dial(t, k)
	register(t, d)
	done := make(chan struct{})
	go func() { // answers with a short, a long and then a good datagram
		defer close(done)
		buf := make([]byte, 64<<10)
		n, err := d.Read(buf)
		if err != nil {
			t.Error(err)
			return
		}
		req, _ := kvp.DecodeRequest(buf[:n])
		st, body := echo(req)
		good, _ := kvp.EncodeReply(req, st, body)
		for _, b := range [][]byte{good[:100], append(slices.Clone(good), 0), good} {
			d.Write(b)
		}
	}()
	doGet(t, k, "k")
	<-done
	if s := k.Stats(); s.BadReplies != 2 || s.LateReplies != 0 || s.Timeouts != 0 {
		t.Errorf("Stats = %+v; want BadReplies 2, no late replies or timeouts", s)
	}
}

func TestReconnect(t *testing.T) {
	k := newKernel(t, 0)
	a := dial(t, k)
	register(t, a)
	go func() { // reads the request, then dies without answering
		a.Read(make([]byte, kvp.MsgSize))
		a.Close()
	}()
	r, err := k.Do(ctxT(t, 10*time.Second), get("x"))
	if !errors.Is(err, ErrGone) || r.Status != kvp.StatusFail {
		t.Fatalf("Do with the daemon dying: %s, %v; want HV_E_FAIL and ErrGone", r.Status, err)
	}
	waitFor(t, "unregistration", func() bool { return !k.Registered() })

	// A request made while nobody is registered waits for the next daemon.
	res := make(chan error, 1)
	go func() {
		r, err := k.Do(ctxT(t, 10*time.Second), get("y"))
		if err == nil && r.KV.Value != "y" {
			err = errors.New("wrong answer " + r.KV.Value)
		}
		res <- err
	}()
	startDaemon(t, k, echo)
	if err := <-res; err != nil {
		t.Fatalf("Do after re-registration: %v", err)
	}
	if s := k.Stats(); s.Registrations != 2 || s.Requests != 2 {
		t.Errorf("Stats = %+v; want Registrations 2, Requests 2", s)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	dir, err := os.MkdirTemp("", "kvpt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	k, err := NewKernel(filepath.Join(dir, "kvp"), KernelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, k)
	register(t, c)
	dial(t, k) // refused
	errc := make(chan error, 1)
	go func() { // never answered: Close must end it
		_, err := k.Do(t.Context(), get("k"))
		errc <- err
	}()
	c.Read(make([]byte, kvp.MsgSize))
	if err := k.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Do across Close: %v; want ErrClosed", err)
	}
	if _, err := os.Stat(k.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
	waitFor(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

func TestCanceledRequestKeepsSlot(t *testing.T) {
	k := newKernel(t, 0)
	got := make(chan string, 2)
	release := make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	startDaemon(t, k, func(req kvp.Msg) (kvp.Status, kvp.Msg) {
		got <- req.KV.Key
		if req.KV.Key == "first" {
			<-release
		}
		return echo(req)
	})
	t.Cleanup(unblock)

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := k.Do(ctx, get("first"))
		errc <- err
	}()
	if key := <-got; key != "first" {
		t.Fatalf("daemon got %q first", key)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Do: %v; want context.Canceled", err)
	}
	// The kernel does not take back a request it handed out: the next
	// one waits until the daemon answers the first.
	second := make(chan struct{})
	go func() { defer close(second); doGet(t, k, "second") }()
	select {
	case key := <-got:
		t.Fatalf("daemon got %q while the first request was unanswered", key)
	case <-time.After(50 * time.Millisecond):
	}
	unblock()
	<-second
	if s := k.Stats(); s.LateReplies != 0 || s.Timeouts != 0 || s.Requests != 2 {
		t.Errorf("Stats = %+v; want 2 requests, no late replies or timeouts", s)
	}
}
