//go:build !freebsd && !linux

package kvp

import (
	"context"
	"errors"
	"fmt"
)

// nativeDevice: the KVP character devices exist only on FreeBSD and
// Linux. Elsewhere the agent talks to a simulated kernel over a socket
// (see Transport), and tests drive the device code through OpenVia and
// OpenLinuxVia with models of the drivers.
func nativeDevice(_ context.Context, p Protocol, path string, _ func(string, error)) (Transport, error) {
	return nil, fmt.Errorf("kvp: %s is not a socket, and the %s KVP device is not supported on this system: %w", path, p, errors.ErrUnsupported)
}
