//go:build freebsd

package kvp

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The FreeBSD facts of the KVP device and pool locking, checked where
// they are compiled: GOOS=freebsd go vet type-checks this file for amd64
// and arm64, whose layouts agree (LP64, 8-byte off_t).
func TestContractFreeBSD(t *testing.T) {
	var lk unix.Flock_t
	var u unix.Utsname
	tests := []struct {
		name      string
		got, want uintptr
	}{
		// sys/sys/fcntl.h, struct flock: off_t l_start, off_t l_len, pid_t l_pid, short l_type, short l_whence, int l_sysid
		{"sizeof(struct flock)", unsafe.Sizeof(lk), 32},
		{"flock.l_start", unsafe.Offsetof(lk.Start), 0},
		{"flock.l_len", unsafe.Offsetof(lk.Len), 8},
		{"flock.l_pid", unsafe.Offsetof(lk.Pid), 16},
		{"flock.l_type", unsafe.Offsetof(lk.Type), 20},
		{"flock.l_whence", unsafe.Offsetof(lk.Whence), 22},
		{"flock.l_sysid", unsafe.Offsetof(lk.Sysid), 24},
		{"F_GETLK", unix.F_GETLK, 11},             // sys/sys/fcntl.h, F_GETLK
		{"F_SETLK", unix.F_SETLK, 12},             // sys/sys/fcntl.h, F_SETLK
		{"F_UNLCK", unix.F_UNLCK, 2},              // sys/sys/fcntl.h, F_UNLCK
		{"F_WRLCK", unix.F_WRLCK, 3},              // sys/sys/fcntl.h, F_WRLCK
		{"LOCK_EX", unix.LOCK_EX, 0x02},           // sys/sys/fcntl.h, LOCK_EX
		{"LOCK_NB", unix.LOCK_NB, 0x04},           // sys/sys/fcntl.h, LOCK_NB
		{"LOCK_UN", unix.LOCK_UN, 0x08},           // sys/sys/fcntl.h, LOCK_UN
		{"O_RDWR", unix.O_RDWR, 0x0002},           // sys/sys/fcntl.h, O_RDWR (the device's open flags)
		{"O_CLOEXEC", unix.O_CLOEXEC, 0x00100000}, // sys/sys/fcntl.h, O_CLOEXEC
		// sys/sys/errno.h, EBUSY: hv_kvp_dev_open's answer to a second open (sys/dev/hyperv/utilities/hv_kvp.c)
		{"EBUSY", uintptr(unix.EBUSY), 16},
		// sys/sys/utsname.h, SYS_NMLN 256: the fields Uname reads
		{"utsname.sysname", uintptr(len(u.Sysname)), 256},
		{"utsname.release", uintptr(len(u.Release)), 256},
		{"utsname.machine", uintptr(len(u.Machine)), 256},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}
