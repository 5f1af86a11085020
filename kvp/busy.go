package kvp

import (
	"errors"

	"golang.org/x/sys/unix"
)

// isBusy tells whether open(2) of the KVP device failed because another
// process holds it. FreeBSD's hv_kvp_dev_open returns (-EBUSY)
// (sys/dev/hyperv/utilities/hv_kvp.c), which reaches userland as the
// errno -16, so the negated value counts too: as a full register and, in
// case the kernel truncates it, as its low 32 bits.
func isBusy(err error) bool {
	var e unix.Errno
	if !errors.As(err, &e) {
		return false
	}
	neg := -int64(unix.EBUSY)
	return e == unix.EBUSY || uintptr(e) == uintptr(neg) || uint64(e) == uint64(uint32(int32(neg)))
}
