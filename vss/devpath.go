package vss

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// statDevice finds the VSS device: path, or for the default path, when
// it does not exist, AliasDevice, a name no FreeBSD kernel creates but an
// administrator's symlink may provide. When neither exists the error
// names both, rather than the default with the alias's stat error.
func statDevice(path string) (string, fs.FileInfo, error) {
	return statDeviceOr(path, DefaultDevice, AliasDevice)
}

// statDeviceOr is statDevice with the default path and its alias given.
func statDeviceOr(path, def, alias string) (string, fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err == nil {
		return path, fi, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || path != def {
		return path, nil, fmt.Errorf("vss: device %s: %w", path, err)
	}
	fi, aerr := os.Stat(alias)
	if aerr == nil {
		return alias, fi, nil
	}
	if errors.Is(aerr, fs.ErrNotExist) {
		return path, nil, fmt.Errorf("vss: neither %s nor %s exists: %w", path, alias, err)
	}
	return path, nil, fmt.Errorf("vss: device %s does not exist; %s: %w", path, alias, aerr)
}
