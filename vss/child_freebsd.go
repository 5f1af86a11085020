//go:build amd64 || arm64

package vss

import (
	"syscall"
	"unsafe"
)

// FreeBSD system calls of the freezer child (sys/kern/syscalls.master).
const (
	sysOpenat     = 499 // openat
	sysIoctl      = syscall.SYS_IOCTL
	sysCloseRange = 575          // close_range, FreeBSD 12.2 and later
	atFDCWD       = ^uintptr(99) // AT_FDCWD is -100 on FreeBSD too
	pollIn        = 0x1
	sigSetmask    = 3 // SIG_SETMASK
)

// sigset is FreeBSD's sigset_t: 128 signal bits.
type sigset [4]uint32

func sigsetAll() sigset { return sigset{^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0)} }

func sigprocmask(set, old *sigset) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_SIGPROCMASK, sigSetmask,
		uintptr(unsafe.Pointer(set)), uintptr(unsafe.Pointer(old)))
	return e
}

// timeout is poll(2)'s millisecond timeout; a zero one means none.
type timeout struct {
	ms  int64
	set bool
}

//go:nosplit
//go:norace
func rawFork() (uintptr, syscall.Errno) {
	// As in syscall.forkAndExecInChild1: r1 is 0 in the child.
	r, _, e := syscall.RawSyscall(syscall.SYS_FORK, 0, 0, 0)
	return r, e
}

//go:nosplit
//go:norace
func rawDup2(from, to uintptr) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_DUP2, from, to, 0)
	return e
}

//go:nosplit
//go:norace
func rawPoll(d *childData) (uintptr, syscall.Errno) {
	ms := ^uintptr(0) // INFTIM, -1
	if d.timeout.set {
		ms = uintptr(d.timeout.ms)
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&d.pfd)), 1, ms)
	return r, e
}

//go:nosplit
//go:norace
func rawExit(code uintptr) {
	for {
		syscall.RawSyscall(syscall.SYS_EXIT, code, 0, 0)
	}
}
