package agent

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/metrics"
)

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

// superviseServer runs the metrics server on addr under a Supervisor with
// a short backoff until the returned stop is called; done closes when the
// supervisor returns.
func superviseServer(t *testing.T, m *metrics.Metrics, addr string, log *slog.Logger) (stop func(), done <-chan struct{}) {
	t.Helper()
	loop := NewLoop(log, 4)
	ctx, cancel := context.WithCancel(context.Background())
	go loop.Run(ctx)
	sup := &Supervisor{Loop: loop, Log: log, Metrics: m, Backoff: Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}}
	d := make(chan struct{})
	go func() {
		sup.Run(ctx, []Subsystem{&metricsServer{m: m, cfg: metrics.ServerConfig{ListenAddress: addr}}})
		close(d)
	}()
	return func() { cancel(); <-d }, d
}

// A metrics port taken at start does not leave the server down for the
// life of the process: the supervisor restarts it, and it comes up once
// the port is free. It has no hvagent_subsystem_* series.
func TestMetricsServerRetries(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	logs := &lockedBuffer{}
	m := metrics.New("test", "test")
	stop, _ := superviseServer(t, m, addr, slog.New(slog.NewTextHandler(logs, nil)))
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "component failed; restarting") {
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt logged while the port was taken:\n%s", logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.Close()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics server not up after the port was freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "component=web") {
		t.Errorf("the restarts are not logged as component=web:\n%s", logs)
	}
	if n := testutil.CollectAndCount(m.SubsystemUp) + testutil.CollectAndCount(m.SubsystemRestarts); n != 0 {
		t.Errorf("the metrics server has %d hvagent_subsystem_* series, want none", n)
	}
}

// An address that can never be bound disables the metrics server with one
// log line; the supervisor does not retry it.
func TestMetricsServerBadAddressIsFinal(t *testing.T) {
	logs := &lockedBuffer{}
	stop, done := superviseServer(t, metrics.New("test", "test"), "127.0.0.1:99999", slog.New(slog.NewTextHandler(logs, nil)))
	defer stop()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("still retrying an invalid address:\n%s", logs)
	}
	if n := strings.Count(logs.String(), "component disabled"); n != 1 {
		t.Errorf("'component disabled' logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "restarting") {
		t.Errorf("an invalid address was retried:\n%s", logs)
	}
}
