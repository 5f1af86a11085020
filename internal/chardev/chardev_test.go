//go:build unix

package chardev

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func TestWaitReadable(t *testing.T) {
	t.Run("readable", func(t *testing.T) {
		r, w := pipe(t)
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := WaitReadable(context.Background(), int(r.Fd()), 10*time.Millisecond); err != nil {
			t.Fatalf("WaitReadable = %v, want nil", err)
		}
	})
	t.Run("context ends while idle", func(t *testing.T) {
		r, _ := pipe(t)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		if err := WaitReadable(ctx, int(r.Fd()), 10*time.Millisecond); !errors.Is(err, context.Canceled) {
			t.Fatalf("WaitReadable = %v, want context.Canceled", err)
		}
	})
	t.Run("hang-up", func(t *testing.T) {
		r, w := pipe(t)
		w.Close()
		if err := WaitReadable(context.Background(), int(r.Fd()), 10*time.Millisecond); !errors.Is(err, ErrHangup) {
			t.Fatalf("WaitReadable = %v, want ErrHangup", err)
		}
	})
}
