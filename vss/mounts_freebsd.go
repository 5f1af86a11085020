package vss

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReadMounts reads the mount table with getfsstat(2) (MNT_NOWAIT: never
// block on a hung NFS server), in mount order, and decodes it with the
// same code the tests run on Linux.
func ReadMounts() ([]Mount, error) {
	for {
		n, err := unix.Getfsstat(nil, unix.MNT_NOWAIT)
		if err != nil {
			return nil, fmt.Errorf("vss: getfsstat: %w", err)
		}
		buf := make([]unix.Statfs_t, n+4) // room for mounts made meanwhile
		got, err := unix.Getfsstat(buf, unix.MNT_NOWAIT)
		if err != nil {
			return nil, fmt.Errorf("vss: getfsstat: %w", err)
		}
		if got == len(buf) {
			continue // the table grew past our margin: read it again
		}
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), got*statfsSize)
		return DecodeStatfs(raw)
	}
}

// statRdev: only Linux looks up block devices in sysfs.
func statRdev(path string) (string, error) {
	return "", fmt.Errorf("vss: %s: %w", path, errNotBlock)
}
