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
// Neither wait is unbounded: see lockTimeout. With shared, both locks are
// shared (LOCK_SH, F_RDLCK): enough to read while no writer is at work,
// and all a descriptor opened read-only may take (F_RDLCK needs read
// access, F_WRLCK write access: fcntl(2)).
func lockFile(fd int, shared bool) (fcntlHeld bool, err error) {
	if err := flockWait(fd, shared); err != nil {
		return false, fmt.Errorf("flock: %w", err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if shared {
		lk.Type = unix.F_RDLCK
	}
	err = waitLock(func() (bool, error) {
		err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EINTR) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		flockRetry(fd, unix.LOCK_UN)
		return false, fmt.Errorf("fcntl(F_OFD_SETLK): %w", err)
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
