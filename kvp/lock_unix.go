//go:build linux || freebsd

package kvp

import (
	"errors"

	"golang.org/x/sys/unix"
)

// flockWait takes flock(LOCK_EX), or LOCK_SH if shared, within
// lockTimeout.
func flockWait(fd int, shared bool) error {
	how := unix.LOCK_EX
	if shared {
		how = unix.LOCK_SH
	}
	return waitLock(func() (bool, error) {
		err := unix.Flock(fd, how|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EINTR) {
			return true, nil
		}
		return false, err
	})
}

// flockRetry applies how, retrying when a signal interrupts the call.
func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
