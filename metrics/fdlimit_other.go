//go:build !unix

package metrics

import (
	"errors"
	"fmt"
)

func fileLimit() (soft, hard uint64, err error) {
	return 0, 0, fmt.Errorf("metrics: descriptor limit: %w", errors.ErrUnsupported)
}
