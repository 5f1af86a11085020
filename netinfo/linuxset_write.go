package netinfo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hvagent/hvagent/internal/fstrust"
)

// writeConfigFile replaces f.path with f.data, mode f.mode whatever the
// umask and whatever was there: a temporary file beside it, created with
// O_EXCL and never through a symbolic link (fstrust.OpenFile), synced,
// renamed over f.path, the directory synced. A manager reading the
// directory sees the old file or the new one, never a partial one; the
// temporary name starts with '.' and ends in ".hvagent-tmp", which none
// of the three managers reads (NetworkManager skips hidden files,
// networkd reads *.network, netplan *.yaml). A symbolic link at f.path
// is replaced, not followed. The directory is created (0755) if the
// manager has not made it.
func writeConfigFile(f linuxFile) error {
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+filepath.Base(f.path)+".hvagent-tmp")
	t, err := createExcl(tmp, fs.FileMode(f.mode))
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after the rename: ENOENT, harmless
	_, err = t.Write(f.data)
	if err == nil {
		err = t.Chmod(fs.FileMode(f.mode)) // the umask may have taken bits off
	}
	if err == nil {
		err = t.Sync()
	}
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// createExcl creates path with O_EXCL, never through a symbolic link.
// Something already there is a leftover of a write that crashed before
// its rename (requests are written one at a time) or was planted: it is
// removed, a link itself and not its target, and the creation tried once
// more.
func createExcl(path string, mode fs.FileMode) (*os.File, error) {
	const flag = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	f, err := fstrust.OpenFile(path, flag, mode)
	if errors.Is(err, fs.ErrExist) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		f, err = fstrust.OpenFile(path, flag, mode)
	}
	return f, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
