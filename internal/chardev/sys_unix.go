//go:build unix

package chardev

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel is the Sys of the running kernel.
var Kernel Sys = kernelSys{}

type kernelSys struct{}

func (kernelSys) Open(path string, flags int) (int, error) { return unix.Open(path, flags, 0) }
func (kernelSys) Close(fd int) error                       { return unix.Close(fd) }
func (kernelSys) Read(fd int, p []byte) (int, error)       { return unix.Read(fd, p) }
func (kernelSys) Write(fd int, p []byte) (int, error)      { return unix.Write(fd, p) }

func (kernelSys) Pread(fd int, p []byte, off int64) (int, error) {
	return unix.Pread(fd, p, off)
}

func (kernelSys) Pwrite(fd int, p []byte, off int64) (int, error) {
	return unix.Pwrite(fd, p, off)
}

func (kernelSys) Poll(fd int, events int16, timeout time.Duration) (int16, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	n, err := unix.Poll(fds, int(timeout/time.Millisecond))
	if err != nil || n == 0 {
		return 0, err
	}
	return fds[0].Revents, nil
}

func (kernelSys) Ioctl(fd int, req uint, arg []byte) error {
	var p unsafe.Pointer
	if len(arg) > 0 {
		p = unsafe.Pointer(&arg[0])
	}
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(p))
	if e != 0 {
		return e
	}
	return nil
}
