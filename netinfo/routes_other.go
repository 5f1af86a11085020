//go:build !linux && !freebsd

package netinfo

import (
	"errors"
	"fmt"
	"runtime"
)

// SystemRoutes is not implemented on this system.
func SystemRoutes() ([]Route, error) {
	return nil, fmt.Errorf("netinfo: default routes on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
