//go:build !linux && !freebsd

package kvp

import (
	"errors"
	"fmt"
	"runtime"
)

// fstatState fails where pool files cannot be locked either (lock_other.go):
// the read path then always takes the locked path, which fails the same way.
func fstatState(fd int) (fileState, error) {
	return fileState{}, fmt.Errorf("fstat of pool files on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
