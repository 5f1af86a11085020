package kvp

import (
	"context"
	"errors"
	"fmt"

	"github.com/hvagent/hvagent/internal/chardev"
)

// nativeDevice opens FreeBSD's /dev/hv_kvp_dev through the kernel's
// system calls; the logic is in device.go, tested on Linux against
// kvptest.Device. The Linux device does not exist here.
func nativeDevice(_ context.Context, p Protocol, path string, _ func(string, error)) (Transport, error) {
	if p != FreeBSD {
		return nil, fmt.Errorf("kvp: %s is not a socket, and FreeBSD has no %s KVP device: %w", path, p, errors.ErrUnsupported)
	}
	return openDevice(chardev.Kernel, path)
}
