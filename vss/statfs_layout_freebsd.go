package vss

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The offsets DecodeStatfs uses, checked against x/sys/unix's FreeBSD
// Statfs_t when compiling: a layout drift fails every FreeBSD build, the
// cross-builds and cross-vets CI runs on Linux included, rather than only
// TestStatfsLayout, which runs on FreeBSD. Each pair of array lengths is
// a negative constant (a compile error) unless the two values are equal.
var (
	_ [unsafe.Sizeof(unix.Statfs_t{}) - statfsSize]byte
	_ [statfsSize - unsafe.Sizeof(unix.Statfs_t{})]byte
	_ [unsafe.Offsetof(unix.Statfs_t{}.Flags) - statfsOffFlags]byte
	_ [statfsOffFlags - unsafe.Offsetof(unix.Statfs_t{}.Flags)]byte
	_ [unsafe.Offsetof(unix.Statfs_t{}.Fsid) - statfsOffFsid]byte
	_ [statfsOffFsid - unsafe.Offsetof(unix.Statfs_t{}.Fsid)]byte
	_ [unsafe.Offsetof(unix.Statfs_t{}.Fstypename) - statfsOffTypeName]byte
	_ [statfsOffTypeName - unsafe.Offsetof(unix.Statfs_t{}.Fstypename)]byte
	_ [unsafe.Offsetof(unix.Statfs_t{}.Mntfromname) - statfsOffFromName]byte
	_ [statfsOffFromName - unsafe.Offsetof(unix.Statfs_t{}.Mntfromname)]byte
	_ [unsafe.Offsetof(unix.Statfs_t{}.Mntonname) - statfsOffOnName]byte
	_ [statfsOffOnName - unsafe.Offsetof(unix.Statfs_t{}.Mntonname)]byte
)
