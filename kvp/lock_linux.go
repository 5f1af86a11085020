//go:build linux

package kvp

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// lockFile takes both kinds of advisory lock on the pool file, blocking:
// flock(LOCK_EX), which cloud-init uses, then an exclusive whole-file OFD
// lock, which azure-init uses. Linux keeps the two in separate namespaces
// and both belong to the open file description, so two Pools of one
// process exclude each other as long as each has its own descriptor.
// It reports whether the fcntl lock is held, for unlockFile.
func lockFile(fd int) (fcntlHeld bool, err error) {
	if err := flockRetry(fd, unix.LOCK_EX); err != nil {
		return false, fmt.Errorf("flock: %w", err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	for {
		err = unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLKW, &lk)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		flockRetry(fd, unix.LOCK_UN)
		return false, fmt.Errorf("fcntl(F_OFD_SETLKW): %w", err)
	}
	return true, nil
}

// unlockFile releases what lockFile took.
func unlockFile(fd int, fcntlHeld bool) {
	if fcntlHeld {
		lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: io.SeekStart}
		unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
	}
	flockRetry(fd, unix.LOCK_UN)
}

func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
