//go:build !((linux || freebsd) && (amd64 || arm64))

package vss

import (
	"errors"
	"fmt"
	"time"
)

// The freezer needs a raw fork and the freeze ioctls of Linux or FreeBSD
// on amd64 or arm64.
func startFreezer([]Target, time.Duration) (*Frozen, error) {
	return nil, fmt.Errorf("vss: freezer: %w", errors.ErrUnsupported)
}

func thawAll([]Target) error { return nil }
