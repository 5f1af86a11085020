//go:build !linux

package vf

import (
	"errors"
	"fmt"
)

func dialLinks() (linkSource, error) {
	return nil, fmt.Errorf("vf: rtnetlink: %w", errors.ErrUnsupported)
}
