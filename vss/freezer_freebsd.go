//go:build amd64 || arm64

package vss

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ufsSuspendDev is FreeBSD's suspend device (sys/ufs/ffs/ffs_suspend.c).
var ufsSuspendDev = []byte("/dev/ufssuspend\x00")

// newChildData: on FreeBSD the child opens /dev/ufssuspend once per
// filesystem (one suspension per descriptor) and suspends it with
// UFSSUSPEND and its fsid; UFSRESUME, closing, or the child's exit resumes
// it.
func newChildData(targets []Target) (*childData, any, error) {
	d := &childData{
		n:         uintptr(len(targets)),
		openFlags: unix.O_RDWR,
		freezeReq: uintptr(iocUFSSuspend),
		thawReq:   uintptr(iocUFSResume),
	}
	fsids := make([][2]int32, len(targets))
	for i, t := range targets {
		fsids[i] = t.Fsid
		d.path[i] = uintptr(unsafe.Pointer(&ufsSuspendDev[0]))
		d.arg[i] = uintptr(unsafe.Pointer(&fsids[i]))
	}
	return d, fsids, nil
}

func makeTimeout(d time.Duration) timeout {
	if d <= 0 {
		return timeout{}
	}
	return timeout{ms: d.Milliseconds(), set: true}
}

// thawAll: the FreeBSD kernel resumes a suspended filesystem when the last
// descriptor of its /dev/ufssuspend open closes, which happens when the
// freezer exits for any reason. Nothing is left for the agent to do.
func thawAll([]Target) error { return nil }
