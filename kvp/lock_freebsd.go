//go:build freebsd

package kvp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// posixLockTimeout bounds how long lockFile waits for another process's
// POSIX lock while holding the flock.
const posixLockTimeout = lockTimeout

// lockFile takes flock(LOCK_EX), which cloud-init uses, and a POSIX
// whole-file write lock (F_SETLK), which FreeBSD's hv_kvp_daemon uses. It
// reports whether the POSIX lock is held, for unlockFile.
//
// FreeBSD may keep flock and fcntl locks in one namespace (both go through
// VOP_ADVLOCK with different owners; not confirmed on the target). If it
// does, our own flock conflicts with our own POSIX lock, and F_SETLKW would
// wait for ourselves forever. So the POSIX lock is only tried: when it
// fails, F_GETLK names the holder. A holder with l_pid -1 (a flock, which
// has no owning process) or our own pid is our flock: the namespace is
// shared, the flock already excludes every writer of either kind, and we
// proceed without the POSIX lock. Any other holder is another process's
// POSIX lock: wait for it with a short, bounded backoff.
//
// POSIX locks belong to the process, not the descriptor: they do not
// exclude two Pools of one process from each other (the flock and the
// Pool's mutex do), and closing any descriptor of the file in this process
// drops them.
//
// With shared, both locks are shared (LOCK_SH, F_RDLCK), as a descriptor
// opened read-only needs: F_WRLCK requires write access (fcntl(2)).
func lockFile(fd int, shared bool) (fcntlHeld bool, err error) {
	if err := flockWait(fd, shared); err != nil {
		return false, fmt.Errorf("flock: %w", err)
	}
	held, err := posixLock(fd, shared)
	if err != nil {
		flockRetry(fd, unix.LOCK_UN)
		return false, err
	}
	return held, nil
}

func posixLock(fd int, shared bool) (bool, error) {
	pid := int32(os.Getpid())
	deadline := time.Now().Add(posixLockTimeout)
	delay := time.Millisecond
	typ := int16(unix.F_WRLCK)
	if shared {
		typ = unix.F_RDLCK
	}
	for {
		lk := unix.Flock_t{Type: typ, Whence: io.SeekStart}
		err := unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &lk)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EINTR):
			continue
		case !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES):
			return false, fmt.Errorf("fcntl(F_SETLK): %w", err)
		}
		q := unix.Flock_t{Type: typ, Whence: io.SeekStart}
		if err := unix.FcntlFlock(uintptr(fd), unix.F_GETLK, &q); err != nil {
			return false, fmt.Errorf("fcntl(F_GETLK): %w", err)
		}
		switch {
		case q.Type == unix.F_UNLCK:
			continue // released meanwhile: try again at once
		case q.Sysid == 0 && (q.Pid == -1 || q.Pid == pid):
			return false, nil // our own flock: shared namespace
		case time.Now().After(deadline):
			return false, fmt.Errorf("fcntl lock held by pid %d for %v: %w", q.Pid, posixLockTimeout, unix.EAGAIN)
		}
		time.Sleep(delay)
		delay = min(2*delay, 64*time.Millisecond)
	}
}

// unlockFile releases what lockFile took.
func unlockFile(fd int, fcntlHeld bool) {
	if fcntlHeld {
		lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: io.SeekStart}
		unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &lk)
	}
	flockRetry(fd, unix.LOCK_UN)
}
