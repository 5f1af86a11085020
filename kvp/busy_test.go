package kvp

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestIsBusy(t *testing.T) {
	ebusy, enoent := uintptr(unix.EBUSY), uintptr(unix.ENOENT)
	negEBUSY := unix.Errno(-ebusy) // -EBUSY as a register
	tests := []struct {
		err  error
		want bool
	}{
		{unix.EBUSY, true},
		{negEBUSY, true},
		{unix.Errno(uint32(0xfffffff0)), true}, // -16 in 32 bits
		{fmt.Errorf("open: %w", negEBUSY), true},
		{&os.PathError{Op: "open", Path: "/dev/hv_kvp_dev", Err: negEBUSY}, true},
		{unix.ENOENT, false},
		{unix.Errno(-enoent), false},
		{errors.New("busy"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := isBusy(tt.err); got != tt.want {
			t.Errorf("isBusy(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
