package seqpacket

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
)

var errWrong = errors.New("wrong size")

// pair returns a Conn dialled to a fresh unixpacket listener and the
// listener's end of the connection.
func pair(t *testing.T, size int) (*Conn, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Skipf("no unixpacket sockets: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan *net.UnixConn, 1)
	go func() {
		c, err := ln.AcceptUnix()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	c, err := Dial(context.Background(), path, "test", size, errWrong)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { peer.Close() })
	return c, peer
}

func TestReadSizes(t *testing.T) {
	c, peer := pair(t, 4)
	buf := make([]byte, 5)
	for _, tc := range []struct {
		send    string
		n       int
		wantErr error
	}{
		{"abcd", 4, nil},
		{"abcde", 5, errWrong},
		{"ab", 2, errWrong},
	} {
		if _, err := peer.Write([]byte(tc.send)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(context.Background(), buf)
		if n != tc.n || !errors.Is(err, tc.wantErr) {
			t.Errorf("datagram %q: Read = %d, %v; want %d, %v", tc.send, n, err, tc.n, tc.wantErr)
		}
	}
	peer.Close()
	if _, err := c.Read(context.Background(), buf); err == nil {
		t.Error("Read after the peer closed: no error")
	}
}

// TestReadEndsWithContext: a Read blocked when its context ends returns
// the context's error, and the reply owed can still be written; a Read
// with a new context works again.
func TestReadEndsWithContext(t *testing.T) {
	c, peer := pair(t, 4)
	buf := make([]byte, 5)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(ctx, buf)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel: %v, want context.Canceled", err)
	}
	if _, err := c.Read(ctx, buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with an ended context: %v", err)
	}
	if err := c.Write([]byte("repl")); err != nil {
		t.Fatalf("Write after the context ended: %v", err)
	}
	got := make([]byte, 8)
	if n, err := peer.Read(got); err != nil || string(got[:n]) != "repl" {
		t.Fatalf("peer read %q, %v", got[:n], err)
	}
	if _, err := peer.Write([]byte("next")); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(context.Background(), buf); err != nil || string(buf[:n]) != "next" {
		t.Fatalf("Read with a new context = %q, %v", buf[:n], err)
	}
}

// TestReadAllocatesNothing: the KVP read path reads every request with
// the same context; watching it again must not allocate.
func TestReadAllocatesNothing(t *testing.T) {
	c, peer := pair(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	buf := make([]byte, 5)
	msg := []byte("ping")
	round := func() {
		if _, err := peer.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(ctx, buf); err != nil {
			t.Fatal(err)
		}
		if err := c.Write(buf[:4]); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	round() // the first Read watches ctx
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Errorf("%v allocations per read and write, want 0", n)
	}
}

// TestCloseEndsRead: Close ends a Read blocked in read(2) with
// net.ErrClosed, and a Read after Close fails the same way.
func TestCloseEndsRead(t *testing.T) {
	c, _ := pair(t, 4)
	buf := make([]byte, 5)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(context.Background(), buf)
		done <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read ended by Close: %v, want net.ErrClosed", err)
	}
	if _, err := c.Read(context.Background(), buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want net.ErrClosed", err)
	}
}
