//go:build !linux

package netinfo

import (
	"errors"
	"fmt"
	"runtime"
)

// linuxLinks is rtnetlink's: Linux only.
func linuxLinks() ([]Link, error) {
	return nil, fmt.Errorf("netinfo: rtnetlink on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// linuxRoutes is rtnetlink's: Linux only.
func linuxRoutes() ([]Route, error) {
	return nil, fmt.Errorf("netinfo: rtnetlink on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
