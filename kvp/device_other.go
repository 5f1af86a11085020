//go:build !freebsd

package kvp

import (
	"errors"
	"fmt"
)

// nativeDevice: the KVP character device exists only on FreeBSD. Elsewhere
// the agent talks to a simulated kernel over a socket (see Transport), and
// tests drive the device code through OpenVia with a model of the driver.
func nativeDevice(p Protocol, path string) (Transport, error) {
	return nil, fmt.Errorf("kvp: %s is not a socket, and the %s KVP device is not supported on this system: %w", path, p, errors.ErrUnsupported)
}
