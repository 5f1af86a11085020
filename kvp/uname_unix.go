//go:build linux || freebsd

package kvp

import (
	"golang.org/x/sys/unix"
)

// Uname fills the OS facts from uname(2).
func Uname() (sysname, release, machine string, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", "", err
	}
	return unix.ByteSliceToString(u.Sysname[:]), unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Machine[:]), nil
}
