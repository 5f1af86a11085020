//go:build freebsd && (amd64 || arm64)

package vss

import (
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The FreeBSD facts of the freezer child and the mount table, checked
// where they are compiled: GOOS=freebsd GOARCH=amd64 and GOARCH=arm64 go
// vet type-check this file, and go test on FreeBSD runs it. amd64 and
// arm64 agree on every row (both LP64, 8-byte aligned 64-bit integers;
// syscalls.master is machine-independent), so the expectations are not
// per-architecture; the untagged contract_test.go checks the statfs
// offsets on Linux against the C layout written out by hand.
func TestContractFreeBSD(t *testing.T) {
	var st unix.Statfs_t
	var pfd unix.PollFd
	fdcwd := int64(unix.AT_FDCWD)
	tests := []struct {
		name      string
		got, want uintptr
	}{
		// sys/sys/mount.h, struct statfs
		{"sizeof(struct statfs)", unsafe.Sizeof(st), statfsSize},
		{"statfs.f_flags", unsafe.Offsetof(st.Flags), statfsOffFlags},                // sys/sys/mount.h, statfs.f_flags
		{"statfs.f_fsid", unsafe.Offsetof(st.Fsid), statfsOffFsid},                   // sys/sys/mount.h, statfs.f_fsid
		{"statfs.f_fstypename", unsafe.Offsetof(st.Fstypename), statfsOffTypeName},   // sys/sys/mount.h, statfs.f_fstypename
		{"statfs.f_mntfromname", unsafe.Offsetof(st.Mntfromname), statfsOffFromName}, // sys/sys/mount.h, statfs.f_mntfromname
		{"statfs.f_mntonname", unsafe.Offsetof(st.Mntonname), statfsOffOnName},       // sys/sys/mount.h, statfs.f_mntonname
		{"MFSNAMELEN", uintptr(len(st.Fstypename)), mfsNameLen},                      // sys/sys/mount.h, MFSNAMELEN
		{"MNAMELEN", uintptr(len(st.Mntonname)), mNameLen},                           // sys/sys/mount.h, MNAMELEN
		{"MNT_RDONLY", uintptr(unix.MNT_RDONLY), mntRdOnly},                          // sys/sys/mount.h, MNT_RDONLY
		{"MNT_NOWAIT", uintptr(unix.MNT_NOWAIT), 2},                                  // sys/sys/mount.h, MNT_NOWAIT
		// sys/sys/_types.h, fsid_t: the size _IOW('U', 1, fsid_t) encodes in UFSSUSPEND
		{"sizeof(fsid_t)", unsafe.Sizeof(unix.Fsid{}), uintptr(iocUFSSuspend>>16) & (1<<13 - 1)},
		{"sizeof(fsid_t) = 8", unsafe.Sizeof(unix.Fsid{}), 8},
		// sys/sys/poll.h, struct pollfd: int fd, short events, short revents
		{"sizeof(struct pollfd)", unsafe.Sizeof(pollFd{}), unsafe.Sizeof(pfd)},
		{"pollfd.events", unsafe.Offsetof(pollFd{}.events), unsafe.Offsetof(pfd.Events)},
		{"pollfd.revents", unsafe.Offsetof(pollFd{}.revents), unsafe.Offsetof(pfd.Revents)},
		{"POLLIN", pollIn, unix.POLLIN}, // sys/sys/poll.h, POLLIN
		// sys/sys/_sigset.h, sigset_t: __bits[_SIG_WORDS], _SIG_WORDS 4
		{"sizeof(sigset_t)", unsafe.Sizeof(sigset{}), unsafe.Sizeof(unix.Sigset_t{})},
		{"sizeof(sigset_t) = 16", unsafe.Sizeof(sigset{}), 16},
		{"SIG_SETMASK", sigSetmask, 3}, // sys/sys/signal.h, SIG_SETMASK
		// sys/sys/fcntl.h, AT_FDCWD -100
		{"AT_FDCWD", atFDCWD, uintptr(fdcwd)},
		{"O_RDWR", uintptr(unix.O_RDWR), 0x2}, // sys/sys/fcntl.h, O_RDWR (the child's open flags)
		{"F_DUPFD", syscall.F_DUPFD, 0},       // sys/sys/fcntl.h, F_DUPFD
		// sys/kern/syscalls.master: the numbers the child calls by hand.
		{"SYS_openat", sysOpenat, unix.SYS_OPENAT},               // sys/kern/syscalls.master, openat
		{"SYS_openat = 499", sysOpenat, 499},                     // sys/kern/syscalls.master, openat
		{"SYS_close_range", sysCloseRange, unix.SYS_CLOSE_RANGE}, // sys/kern/syscalls.master, close_range
		{"SYS_close_range = 575", sysCloseRange, 575},            // sys/kern/syscalls.master, close_range
		{"SYS_ioctl", sysIoctl, 54},                              // sys/kern/syscalls.master, ioctl
		{"SYS_fork", syscall.SYS_FORK, 2},                        // sys/kern/syscalls.master, fork
		{"SYS_exit", syscall.SYS_EXIT, 1},                        // sys/kern/syscalls.master, exit
		{"SYS_read", syscall.SYS_READ, 3},                        // sys/kern/syscalls.master, read
		{"SYS_write", syscall.SYS_WRITE, 4},                      // sys/kern/syscalls.master, write
		{"SYS_close", syscall.SYS_CLOSE, 6},                      // sys/kern/syscalls.master, close
		{"SYS_setpgid", syscall.SYS_SETPGID, 82},                 // sys/kern/syscalls.master, setpgid
		{"SYS_dup2", syscall.SYS_DUP2, 90},                       // sys/kern/syscalls.master, dup2
		{"SYS_fcntl", syscall.SYS_FCNTL, 92},                     // sys/kern/syscalls.master, fcntl
		{"SYS_poll", syscall.SYS_POLL, 209},                      // sys/kern/syscalls.master, poll
		{"SYS_sigprocmask", syscall.SYS_SIGPROCMASK, 340},        // sys/kern/syscalls.master, sigprocmask
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	// sys/ufs/ffs/ffs_suspend.c, ffs_susp_initialize: make_dev(..., "ufssuspend")
	if got := string(ufsSuspendDev); got != "/dev/ufssuspend\x00" {
		t.Errorf("suspend device %q, want %q", got, "/dev/ufssuspend\x00")
	}
}
