package vss

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// ReadMounts reads the mount table in mount order, loop-backed devices
// marked (LinuxMounts).
func ReadMounts() ([]Mount, error) { return LinuxMounts{}.Read() }

// statRdev is a block device node's "major:minor" (stat(2) st_rdev).
func statRdev(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("vss: stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return "", fmt.Errorf("vss: %s: %w", path, errNotBlock)
	}
	return fmt.Sprintf("%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))), nil
}
