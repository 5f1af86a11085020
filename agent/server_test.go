package agent

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hvagent/hvagent/metrics"
)

// A metrics port taken at start does not leave the server down for the
// life of the process: it comes up once the port is free.
func TestMetricsServerRetries(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		serveMetrics(ctx, metrics.New("test", "test"), metrics.ServerConfig{ListenAddress: addr},
			slog.New(slog.DiscardHandler), Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond})
		close(done)
	}()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond) // some failed attempts
	l.Close()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics server not up after the port was freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
