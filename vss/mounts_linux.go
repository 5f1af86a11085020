package vss

import (
	"fmt"
	"os"
)

// ReadMounts reads the mount table in mount order.
func ReadMounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("vss: mount table: %w", err)
	}
	defer f.Close()
	return ParseMountinfo(f)
}
