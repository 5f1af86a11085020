//go:build (linux || freebsd) && (amd64 || arm64)

package vss

import (
	"runtime"
	"syscall"
	"unsafe"
)

// This file is the freezer child: the code that runs after a raw fork in
// a process that has exactly one thread and no Go runtime to speak of (no
// scheduler, no allocator, no signal handling, no race detector). Like the
// standard library's forkAndExecInChild1 it may only run //go:nosplit
// //go:norace functions that make raw system calls on memory prepared by
// the parent before the fork; unlike it, it never execs. Everything it
// needs sits in one childData, filled in by the parent.

// pollFd is struct pollfd on Linux and FreeBSD.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// childData is everything the child touches. Pointers are stored as
// uintptr; the parent keeps the pointed-to memory alive until the fork is
// done, and the child has its own copy of the address space.
type childData struct {
	n         uintptr
	path      [maxTargets]uintptr // NUL-terminated path to open per target
	arg       [maxTargets]uintptr // freeze ioctl argument per target
	fd        [maxTargets]uintptr // descriptors holding the freeze
	openFlags uintptr
	freezeReq uintptr
	thawReq   uintptr
	freezeOK  uintptr // an errno of the freeze ioctl that counts as success; 0: none
	thawOK    uintptr // an errno of the thaw ioctl that counts as success; 0: none
	cmdFd     uintptr // read end of the agent's command pipe
	repFd     uintptr // write end of the report pipe
	fdLimit   uintptr // close loop bound when close_range is missing
	timeout   timeout // the freezer's own auto-thaw; zero value: none
	pfd       pollFd
	buf       [1]byte
	rec       [recSize]byte
}

// forkFreezer forks the child with every signal blocked on the forking
// thread (the child must never run a Go signal handler) and returns its
// pid. The child starts freezing at once. It keeps every signal blocked:
// a report written after the agent died fails with EPIPE instead of
// killing it with SIGPIPE before it thaws, and a terminal's SIGINT goes
// to the agent, which thaws through the pipe (the child also leaves the
// agent's process group). Only SIGKILL ends it, and then the kernel
// (FreeBSD) or the agent (Linux) thaws.
func forkFreezer(d *childData) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old sigset
	all := sigsetAll()
	if e := sigprocmask(&all, &old); e != 0 {
		return 0, e
	}
	pid, e := forkAndRun(d)
	// Restoring the mask the thread had cannot fail with valid arguments.
	_ = sigprocmask(&old, nil)
	runtime.KeepAlive(d)
	if e != 0 {
		return 0, e
	}
	return pid, nil
}

// forkAndRun forks; in the child it runs freezerChild and never returns.
//
//go:nosplit
//go:norace
func forkAndRun(d *childData) (int, syscall.Errno) {
	pid, e := rawFork()
	if e != 0 {
		return 0, e
	}
	if pid != 0 {
		return int(pid), 0
	}
	freezerChild(d)
	return 0, 0 // not reached
}

//go:nosplit
//go:norace
func freezerChild(d *childData) {
	// A process group of its own: a SIGKILL to the agent's group (a
	// service manager giving up) must not take the freezer along, or
	// Linux keeps the filesystems frozen with nobody left to thaw them.
	// Alone, it sees its control pipe close and thaws. Failing is
	// harmless: it only loses that protection.
	syscall.RawSyscall(syscall.SYS_SETPGID, 0, 0, 0)
	if !childSetupFds(d) {
		rawExit(exitSetupError)
	}
	n := d.n
	if n > maxTargets {
		n = maxTargets
	}
	// Freeze in reverse mount order: a filesystem mounted on top of
	// another is frozen before the one below it.
	for i := n; i > 0; i-- {
		j := i - 1
		if j >= maxTargets { // never true; lets the compiler drop the bounds check
			continue
		}
		fd, _, e := syscall.RawSyscall6(sysOpenat, atFDCWD, d.path[j], d.openFlags, 0, 0, 0)
		if e != 0 {
			childAbort(d, recOpenFailed, j, n, e)
		}
		d.fd[j] = fd
		if _, _, e = syscall.RawSyscall(sysIoctl, fd, d.freezeReq, d.arg[j]); e != 0 && uintptr(e) != d.freezeOK {
			syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
			childAbort(d, recFreezeFail, j, n, e)
		}
	}
	childReport(d, recFrozen, 0, n, 0)
	reason := childWait(d)
	failed, first := childThaw(d, 0, n)
	childReport(d, recThawed, uintptr(reason), failed, first)
	rawExit(0)
}

// childSetupFds moves the control pipe to descriptors 0 (commands) and 1
// (reports) and closes every other inherited descriptor before anything
// is opened: FreeBSD refuses UFSSUSPEND while the process holds a
// writable file on the filesystem, and EOF on the command pipe only means
// "the agent died" once no copy of its write end is left here.
//
//go:nosplit
//go:norace
func childSetupFds(d *childData) bool {
	a, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, d.cmdFd, syscall.F_DUPFD, 3)
	if e != 0 {
		return false
	}
	b, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, d.repFd, syscall.F_DUPFD, 3)
	if e != 0 {
		return false
	}
	if rawDup2(a, 0) != 0 || rawDup2(b, 1) != 0 {
		return false
	}
	if _, _, e := syscall.RawSyscall(sysCloseRange, 2, ^uintptr(0), 0); e != 0 {
		for fd := uintptr(2); fd < d.fdLimit; fd++ {
			syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
		}
	}
	return true
}

// childAbort thaws the targets frozen so far (those after index j), reports
// why the freeze failed and exits.
//
//go:nosplit
//go:norace
func childAbort(d *childData, kind byte, j, n uintptr, e syscall.Errno) {
	childThaw(d, j+1, n)
	childReport(d, kind, j, 0, uintptr(e))
	rawExit(1)
}

// childThaw thaws targets from..n-1 in mount order and closes their
// descriptors; it returns how many thaws failed and the first errno.
//
//go:nosplit
//go:norace
func childThaw(d *childData, from, n uintptr) (uintptr, uintptr) {
	var failed, first uintptr
	for i := from; i < n && i < maxTargets; i++ {
		fd := d.fd[i]
		if _, _, e := syscall.RawSyscall(sysIoctl, fd, d.thawReq, 0); e != 0 && uintptr(e) != d.thawOK {
			if failed == 0 {
				first = uintptr(e)
			}
			failed++
		}
		syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
	}
	return failed, first
}

// childWait blocks until the agent says thaw, the agent goes away (EOF)
// or the child's own deadline passes, and returns which.
//
//go:nosplit
//go:norace
func childWait(d *childData) byte {
	for {
		d.pfd = pollFd{fd: 0, events: pollIn}
		r, e := rawPoll(d)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return reasonEOF
		}
		if r == 0 {
			return reasonTimeout
		}
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, 0, uintptr(unsafe.Pointer(&d.buf[0])), 1)
		if e == syscall.EINTR || e == syscall.EAGAIN {
			continue
		}
		if e != 0 || n == 0 {
			return reasonEOF
		}
		if d.buf[0] == cmdThaw {
			return reasonCommand
		}
	}
}

//go:nosplit
//go:norace
func childReport(d *childData, kind byte, a, count, errno uintptr) {
	d.rec[0] = kind
	d.rec[1] = byte(a)
	d.rec[2] = byte(count)
	d.rec[3] = byte(count >> 8)
	d.rec[4] = byte(errno)
	d.rec[5] = byte(errno >> 8)
	d.rec[6] = byte(errno >> 16)
	d.rec[7] = byte(errno >> 24)
	syscall.RawSyscall(syscall.SYS_WRITE, 1, uintptr(unsafe.Pointer(&d.rec[0])), recSize)
}
