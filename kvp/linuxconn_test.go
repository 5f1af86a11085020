//go:build linux || freebsd

package kvp

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hvagent/hvagent/agent"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// scriptTransport hands out queued requests and records the replies;
// once the queue is empty, Read closes idle and waits for ctx.
type scriptTransport struct {
	mu      sync.Mutex
	reqs    [][]byte
	replies [][]byte
	closed  bool
	idle    chan struct{}
	once    sync.Once
}

func (s *scriptTransport) Read(ctx context.Context, buf []byte) (int, error) {
	s.mu.Lock()
	if len(s.reqs) == 0 {
		s.mu.Unlock()
		s.once.Do(func() { close(s.idle) })
		<-ctx.Done()
		return 0, ctx.Err()
	}
	r := s.reqs[0]
	s.reqs = s.reqs[1:]
	s.mu.Unlock()
	return copy(buf, r), nil
}

func (s *scriptTransport) Write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, append([]byte(nil), b...))
	return nil
}

func (s *scriptTransport) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// slowIP answers GET_IP_INFO after the clock moved by d: a request that
// took that long to answer.
type slowIP struct {
	clock *fakeClock
	d     time.Duration
}

func (s slowIP) GetIPInfo(req IPInfo) (IPInfo, Status) {
	s.clock.advance(s.d)
	return req, StatusOK
}

func (s slowIP) SetIPInfo(IPInfo) Status { return StatusOK }

// On Linux a reply is never written more than LinuxReplyWithin after its
// request was read: the kernel (30 s, HV_UTIL_TIMEOUT) may have failed it
// and would take it for the next request's answer. The subsystem returns
// ErrReplyTooLate instead, which closes the device; a reply in time is
// written.
func TestLinuxReplyDeadline(t *testing.T) {
	for _, tt := range []struct {
		name    string
		took    time.Duration
		written int
		err     error
	}{
		{"in time", LinuxReplyWithin, 2, context.Canceled},
		{"too late", LinuxReplyWithin + time.Millisecond, 1, ErrReplyTooLate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			device := filepath.Join(dir, "hv_kvp")
			if err := os.WriteFile(device, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			clock := &fakeClock{t: time.Unix(1e9, 0)}
			get := mustEncodeProto(t, Linux, Msg{Op: OpGet, Pool: PoolAuto, KV: KeyValue{Key: "OSName"}})
			slow := mustEncodeProto(t, Linux, Msg{Op: OpGetIPInfo, IP: IPInfo{AdapterID: "00:15:5D:00:00:01"}})
			fake := &scriptTransport{reqs: [][]byte{get, slow}, idle: make(chan struct{})}
			sub := New(Config{
				Device:     device,
				Protocol:   Linux,
				PoolDir:    filepath.Join(dir, "pool"),
				IP:         slowIP{clock, tt.took},
				LookupFQDN: func(context.Context) string { return "vm" },
				OpenTransport: func(context.Context) (Transport, error) {
					return newLinuxConn(fake, LinuxDriverVersion, clock.now), nil
				},
			})
			defer sub.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- sub.Run(ctx, &agent.Env{Log: slog.New(slog.DiscardHandler)}) }()
			var err error
			select {
			case err = <-done:
			case <-fake.idle: // every request answered: end Run
				cancel()
				if err = <-done; err == nil {
					err = context.Canceled
				}
			}
			cancel()
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if !errors.Is(err, tt.err) {
				t.Errorf("Run = %v, want %v", err, tt.err)
			}
			if len(fake.replies) != tt.written {
				t.Errorf("%d replies written, want %d", len(fake.replies), tt.written)
			}
			if !fake.closed {
				t.Error("the transport was not closed")
			}
			for _, r := range fake.replies {
				if len(r) != LinuxMsgSize {
					t.Errorf("reply of %d bytes, want %d", len(r), LinuxMsgSize)
				}
			}
		})
	}
}
