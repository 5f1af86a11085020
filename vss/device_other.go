//go:build !freebsd && !linux

package vss

import (
	"context"
	"errors"
	"fmt"
)

// nativeDevice: the VSS device exists only on FreeBSD. Elsewhere the agent
// talks to a simulated kernel over a socket (see Transport), and tests
// drive the device code through OpenVia with a model of the driver.
func nativeDevice(path string) (Transport, error) { return nativeDeviceUnsupported(path) }

// linuxDevice: Linux's VSS device exists only on Linux.
func linuxDevice(_ context.Context, path string, _ func(string, error)) (Transport, error) {
	return nil, fmt.Errorf("vss: %s is not a socket, and the Linux VSS device exists only on Linux: %w", path, errors.ErrUnsupported)
}
