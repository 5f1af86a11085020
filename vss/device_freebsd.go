package vss

import "github.com/hvagent/hvagent/internal/chardev"

// nativeDevice opens FreeBSD's VSS device through the kernel's system
// calls; the logic is in device.go, tested on Linux against
// vsstest.Device.
func nativeDevice(path string) (Transport, error) { return openDevice(chardev.Kernel, path) }
