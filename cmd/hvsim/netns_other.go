//go:build !linux

package main

import (
	"errors"
	"fmt"
)

// netns exists only on Linux; linuxVFUnavailable keeps the demo from
// asking for one elsewhere.
type netns struct{}

func enterNetns(name string) (*netns, error) {
	return nil, fmt.Errorf("network namespace %s: %w", name, errors.ErrUnsupported)
}

func (*netns) do(func() error) error { return errors.ErrUnsupported }

func (*netns) close() {}
