package vss

import (
	"context"

	"github.com/hvagent/hvagent/internal/chardev"
)

// nativeDevice: FreeBSD's VSS device does not exist on Linux; the FreeBSD
// protocol runs here only over the socket transport (tests, the demo).
func nativeDevice(path string) (Transport, error) { return nativeDeviceUnsupported(path) }

// linuxDevice opens the Linux kernel's VSS device (linuxdevice.go).
func linuxDevice(ctx context.Context, path string, waiting func(string, error)) (Transport, error) {
	return openLinuxDevice(ctx, chardev.Kernel, path, waiting)
}
