//go:build !linux && !freebsd

package kvp

import (
	"errors"
	"fmt"
)

// Uname is only implemented where the agent runs.
func Uname() (sysname, release, machine string, err error) {
	return "", "", "", fmt.Errorf("kvp: uname: %w", errors.ErrUnsupported)
}
