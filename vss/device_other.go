//go:build !freebsd

package vss

import (
	"errors"
	"fmt"
)

// openDevice: the VSS device exists only on FreeBSD. Elsewhere the agent
// talks to a simulated kernel over a socket (SPEC §6).
func openDevice(path string) (Transport, error) {
	return nil, fmt.Errorf("vss: %s is not a socket, and the VSS device is FreeBSD-only: %w", path, errors.ErrUnsupported)
}
