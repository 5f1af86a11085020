package vss

import (
	"context"
	"errors"
	"fmt"

	"github.com/hvagent/hvagent/internal/chardev"
)

// nativeDevice opens FreeBSD's VSS device through the kernel's system
// calls; the logic is in device.go, tested on Linux against
// vsstest.Device.
func nativeDevice(path string) (Transport, error) { return openDevice(chardev.Kernel, path) }

// linuxDevice: FreeBSD has no Linux VSS device; the Linux protocol runs
// here only over the socket transport.
func linuxDevice(_ context.Context, path string, _ func(string, error)) (Transport, error) {
	return nil, fmt.Errorf("vss: %s is not a socket, and the Linux protocol needs one on FreeBSD: %w", path, errors.ErrUnsupported)
}
