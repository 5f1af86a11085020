package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestCapConnections(t *testing.T) {
	for _, tc := range []struct {
		max  int
		soft uint64
		want int
	}{
		{max: 16, soft: 1 << 20, want: 16},
		{max: 16, soft: fdReserve + 16, want: 16},
		{max: 16, soft: fdReserve + 15, want: 15},
		{max: 1000, soft: 64, want: 64 - fdReserve},
		{max: 16, soft: fdReserve, want: 1},
		{max: 16, soft: 8, want: 1},
	} {
		if got := capConnections(tc.max, tc.soft); got != tc.want {
			t.Errorf("capConnections(%d, soft %d) = %d, want %d", tc.max, tc.soft, got, tc.want)
		}
	}
}

// serveLocal starts Serve on a loopback port and returns its address.
func serveLocal(t *testing.T, cfg ServerConfig) string {
	t.Helper()
	cfg.ListenAddress = "127.0.0.1:0"
	l, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ListenAddress = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New("test", "test").Serve(ctx, l, cfg, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	for range 200 {
		c, err := net.Dial("tcp", cfg.ListenAddress)
		if err == nil {
			c.Close()
			return cfg.ListenAddress
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("server on %s did not come up", cfg.ListenAddress)
	return ""
}

const request = "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n"

// Connections beyond the cap wait until one is closed.
func TestServeCapsConnections(t *testing.T) {
	addr := serveLocal(t, ServerConfig{MaxConnections: 2, ReadTimeout: time.Hour, IdleTimeout: time.Hour})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatalf("a connection within the cap: %v", err)
		}
		held = append(held, c) // idle, kept alive
	}
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if _, err := io.WriteString(third, request); err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() {
		_, err := http.ReadResponse(bufio.NewReader(third), nil)
		answered <- err
	}()
	// Only a server without the cap answers here; a slow machine can make
	// this pass wrongly, never fail wrongly.
	select {
	case err := <-answered:
		t.Fatalf("a connection over the cap was served (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	held[0].Close()
	if err := <-answered; err != nil {
		t.Fatalf("the waiting connection, once a slot was free: %v", err)
	}
}

// The server closes a connection that sends nothing, one that stops in
// the middle of its headers, and an idle keep-alive one.
func TestServeTimesOutConnections(t *testing.T) {
	addr := serveLocal(t, ServerConfig{ReadTimeout: time.Second, IdleTimeout: time.Second})
	for _, tc := range []struct {
		name, send string
		answered   bool
	}{
		{name: "silent"},
		{name: "half-sent headers", send: "GET /metrics HTTP/1.1\r\nHost: te"},
		{name: "idle keep-alive", send: request, answered: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Far past the timeouts: the server, not this, ends the wait.
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			if tc.answered {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			rest, err := io.ReadAll(br)
			if err != nil {
				t.Fatalf("connection not closed by the server: %v", err)
			}
			if !tc.answered && len(rest) > 0 && !bytes.HasPrefix(rest, []byte("HTTP/1.1 408")) && !bytes.HasPrefix(rest, []byte("HTTP/1.1 400")) {
				t.Errorf("unexpected reply %q", rest)
			}
		})
	}
}

// Only an address no retry can bind is ErrBadAddress; a port in use is
// not, as it may be freed.
func TestListenBadAddress(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		addr string
		bad  bool // want ErrBadAddress
		ok   bool // want a listener
	}{
		{addr: "127.0.0.1:0", ok: true},
		{addr: "localhost", bad: true},        // no port
		{addr: ":99999", bad: true},           // port out of range
		{addr: "[::1:9855", bad: true},        // malformed
		{addr: "127.0.0.1:9855:1", bad: true}, // too many colons
		{addr: taken.Addr().String()},         // in use: retried
	} {
		l, err := Listen(ServerConfig{ListenAddress: tc.addr})
		if l != nil {
			l.Close()
		}
		if got := errors.Is(err, ErrBadAddress); got != tc.bad || (err == nil) != tc.ok {
			t.Errorf("Listen(%q) = %v; ErrBadAddress %v, want %v; success wanted %v", tc.addr, err, got, tc.bad, tc.ok)
		}
	}
}
