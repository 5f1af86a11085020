//go:build amd64 || arm64

package vss

import (
	"syscall"
	"unsafe"
)

// Linux system calls of the freezer child. arm64 has no fork, open, dup2
// or poll, so the child uses clone, openat, dup3 and ppoll everywhere.
const (
	sysOpenat     = syscall.SYS_OPENAT
	sysIoctl      = syscall.SYS_IOCTL
	sysCloseRange = 436          // close_range(2), Linux 5.9; older kernels: the close loop
	atFDCWD       = ^uintptr(99) // -100
	pollIn        = 0x1
	sigSetmask    = 2 // SIG_SETMASK
)

// sigset is the kernel's sigset_t for rt_sigprocmask (64 signals).
type sigset uint64

func sigsetAll() sigset { return ^sigset(0) }

func sigprocmask(set, old *sigset) syscall.Errno {
	_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask,
		uintptr(unsafe.Pointer(set)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	return e
}

// timeout is the struct timespec given to ppoll; a zero one means none.
type timeout struct {
	sec, nsec int64
	set       bool
}

//go:nosplit
//go:norace
func rawFork() (uintptr, syscall.Errno) {
	// clone(SIGCHLD, 0, ...) is fork(2): a new process, a copy of this
	// address space, one thread.
	r, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	return r, e
}

//go:nosplit
//go:norace
func rawDup2(from, to uintptr) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_DUP3, from, to, 0)
	return e
}

//go:nosplit
//go:norace
func rawPoll(d *childData) (uintptr, syscall.Errno) {
	var ts uintptr
	if d.timeout.set {
		ts = uintptr(unsafe.Pointer(&d.timeout))
	}
	r, _, e := syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&d.pfd)), 1, ts, 0, 8, 0)
	return r, e
}

//go:nosplit
//go:norace
func rawExit(code uintptr) {
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, code, 0, 0)
	}
}
