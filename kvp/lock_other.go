//go:build !linux && !freebsd

package kvp

import (
	"errors"
	"fmt"
	"runtime"
)

// lockFile fails: pool files are only shared safely where the locks other
// writers use are known (Linux for tests, FreeBSD in production).
func lockFile(fd int, shared bool) (fcntlHeld bool, err error) {
	return false, fmt.Errorf("pool file locking on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func unlockFile(fd int, fcntlHeld bool) {}
