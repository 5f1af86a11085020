//go:build unix

package chardev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func pipe(t *testing.T) (*Device, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return &Device{sys: Kernel, fd: int(r.Fd()), path: "pipe"}, w
}

func TestWait(t *testing.T) {
	t.Run("readable", func(t *testing.T) {
		d, w := pipe(t)
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := d.Wait(context.Background(), 10*time.Millisecond); err != nil {
			t.Fatalf("Wait = %v, want nil", err)
		}
	})
	t.Run("context ends while idle", func(t *testing.T) {
		d, _ := pipe(t)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		if err := d.Wait(ctx, 10*time.Millisecond); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait = %v, want context.Canceled", err)
		}
	})
	t.Run("hang-up", func(t *testing.T) {
		d, w := pipe(t)
		w.Close()
		if err := d.Wait(context.Background(), 10*time.Millisecond); !errors.Is(err, ErrHangup) {
			t.Fatalf("Wait = %v, want ErrHangup", err)
		}
	})
}

// busySys refuses every open with err, as a driver whose device is held.
type busySys struct {
	Sys
	err error
}

func (b busySys) Open(string, int) (int, error) { return -1, b.err }

// TestOpenBusy: the busy rule holds for both drivers' answers: hv_kvp.c's
// hv_kvp_dev_open and hv_snapshot.c's hv_vss_dev_open both return
// (-EBUSY); a plain EBUSY counts too.
func TestOpenBusy(t *testing.T) {
	ebusy, enoent := uintptr(unix.EBUSY), uintptr(unix.ENOENT)
	negEBUSY := unix.Errno(-ebusy) // -EBUSY as a register
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"EBUSY", unix.EBUSY, true},
		{"kvp and vss: -EBUSY", negEBUSY, true},
		{"-EBUSY in 32 bits", unix.Errno(uint32(0xfffffff0)), true},
		{"wrapped", fmt.Errorf("open: %w", negEBUSY), true},
		{"path error", &os.PathError{Op: "open", Path: "/dev/hv_kvp_dev", Err: negEBUSY}, true},
		{"ENOENT", unix.ENOENT, false},
		{"-ENOENT", unix.Errno(-enoent), false},
		{"not an errno", errors.New("busy"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsBusy(tt.err); got != tt.want {
				t.Errorf("IsBusy(%v) = %v, want %v", tt.err, got, tt.want)
			}
			_, err := Open(busySys{err: tt.err}, "/dev/x")
			if got := errors.Is(err, ErrBusy); got != tt.want {
				t.Errorf("Open with %v: %v; ErrBusy = %v, want %v", tt.err, err, got, tt.want)
			}
		})
	}
	if IsBusy(nil) {
		t.Error("IsBusy(nil) = true")
	}
}
