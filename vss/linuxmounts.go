package vss

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LinuxMounts reads a Linux mount table and marks the loop-backed
// devices, as the Linux daemon decides them. The zero value reads the
// running system's; tests give their own files.
type LinuxMounts struct {
	// MountInfo is the mount table; "" means /proc/self/mountinfo, which
	// lists the entries of /proc/mounts with each filesystem's device
	// number (the identity that finds one filesystem mounted twice).
	MountInfo string
	// SysRoot is where sysfs is mounted; "" means /sys.
	SysRoot string
	// Rdev returns a block device node's "major:minor"; nil stats it.
	// The Linux daemon stats the mount's source (st_rdev), not the
	// filesystem's device number, which differs for btrfs.
	Rdev func(path string) (string, error)
}

// maxStack bounds how deep is_dev_loop's walk of stacked devices goes
// (dm on md on loop is three); sysfs has no cycles, this is a guard.
const maxStack = 8

// Read returns the mount table in mount order with Loop set.
func (l LinuxMounts) Read() ([]Mount, error) {
	path := l.MountInfo
	if path == "" {
		path = "/proc/self/mountinfo"
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vss: mount table: %w", err)
	}
	defer f.Close()
	mounts, err := ParseMountinfo(f)
	if err != nil {
		return nil, err
	}
	sys := l.SysRoot
	if sys == "" {
		sys = "/sys"
	}
	rdev := l.Rdev
	if rdev == nil {
		rdev = statRdev
	}
	for i := range mounts {
		m := &mounts[i]
		if !strings.HasPrefix(m.Source, "/dev/") {
			continue
		}
		dev, err := rdev(m.Source)
		if err != nil {
			dev = m.Dev // the node may be gone; the filesystem's number is the next best
		}
		m.Loop = isLoop(filepath.Join(sys, "dev", "block", dev), 0)
	}
	return mounts, nil
}

// isLoop reports whether the block device whose sysfs directory is dir
// is a loop device (it has a loop/ directory) or is stacked on one (one
// of its slaves/ is), as tools/hv/hv_vss_daemon.c's is_dev_loop decides.
func isLoop(dir string, depth int) bool {
	if depth > maxStack {
		return false
	}
	if _, err := os.Stat(filepath.Join(dir, "loop")); err == nil {
		return true
	}
	slaves, err := os.ReadDir(filepath.Join(dir, "slaves"))
	if err != nil {
		return false
	}
	for _, s := range slaves {
		if isLoop(filepath.Join(dir, "slaves", s.Name()), depth+1) {
			return true
		}
	}
	return false
}

// errNotBlock reports a mount source that is not a block device node.
var errNotBlock = errors.New("not a block device")
