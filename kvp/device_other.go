//go:build !freebsd

package kvp

import (
	"errors"
	"fmt"
)

// openDevice: the KVP character device exists only on FreeBSD. Elsewhere
// the agent talks to a simulated kernel over a socket (SPEC §6).
func openDevice(path string) (Transport, error) {
	return nil, fmt.Errorf("kvp: %s is not a socket, and the KVP device is FreeBSD-only: %w", path, errors.ErrUnsupported)
}
