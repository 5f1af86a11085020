//go:build !linux

package netinfo

import (
	"errors"
	"fmt"
	"runtime"
)

// openNetWatch is not implemented here: GET_IP_INFO reads the interfaces
// and routes for every request. (FreeBSD's routing socket announces the
// same changes, but through a netisr queue, after the change's system
// call has returned, so a request right after a change could be answered
// from the old state.)
func openNetWatch() (*netWatch, error) {
	return nil, fmt.Errorf("netinfo: change notification on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func (w *netWatch) changed() bool { return true }
