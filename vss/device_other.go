//go:build !freebsd

package vss

import (
	"context"
	"errors"
	"fmt"
)

// nativeDevice: the VSS device exists only on FreeBSD. Elsewhere the agent
// talks to a simulated kernel over a socket (see Transport), and tests
// drive the device code through OpenVia with a model of the driver.
func nativeDevice(path string) (Transport, error) {
	return nil, fmt.Errorf("vss: %s is not a socket, and the VSS device is FreeBSD-only: %w", path, errors.ErrUnsupported)
}

// linuxDevice: Linux's VSS device is not wired yet (vss/device_linux.go
// will open it through internal/chardev's Linux semantics).
func linuxDevice(_ context.Context, path string) (Transport, error) {
	return nil, fmt.Errorf("vss: %s is not a socket, and Linux's VSS device is not supported yet: %w", path, errors.ErrUnsupported)
}
