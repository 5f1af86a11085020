//go:build !linux && !freebsd

package vss

import (
	"errors"
	"fmt"
)

// ReadMounts: the mount table is read on Linux and FreeBSD only.
func ReadMounts() ([]Mount, error) {
	return nil, fmt.Errorf("vss: mount table: %w", errors.ErrUnsupported)
}

// statRdev: only Linux looks up block devices in sysfs.
func statRdev(path string) (string, error) {
	return "", fmt.Errorf("vss: %s: %w", path, errNotBlock)
}
