package kvp

import "github.com/hvagent/hvagent/internal/chardev"

// nativeDevice opens FreeBSD's /dev/hv_kvp_dev through the kernel's
// system calls; the logic is in device.go, tested on Linux against
// kvptest.Device.
func nativeDevice(path string) (Transport, error) { return openDevice(chardev.Kernel, path) }
