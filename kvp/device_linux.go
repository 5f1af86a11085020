package kvp

import (
	"context"
	"errors"
	"fmt"

	"github.com/hvagent/hvagent/internal/chardev"
)

// nativeDevice opens Linux's /dev/vmbus/hv_kvp through the kernel's
// system calls, waiting for the node; the logic is in linuxdevice.go and
// package chardev, tested against chardevtest.LinuxDevice. FreeBSD's
// device does not exist here.
func nativeDevice(ctx context.Context, p Protocol, path string, waiting func(string, error)) (Transport, error) {
	if p != Linux {
		return nil, fmt.Errorf("kvp: %s is not a socket, and Linux has no %s KVP device: %w", path, p, errors.ErrUnsupported)
	}
	return openLinuxDevice(ctx, chardev.Kernel, path, waiting)
}
