//go:build !unix

package fstrust

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"time"
)

// owner is unknown where there is no Unix file owner: nothing is trusted.
func owner(fs.FileInfo) (int, bool) { return 0, false }

// OpenFile fails: opening without following links needs O_NOFOLLOW.
func OpenFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("no-follow open on %s: %w", runtime.GOOS, errors.ErrUnsupported)}
}

// SetMtime fails: setting times without following links needs utimensat.
func SetMtime(path string, t time.Time) error {
	return &fs.PathError{Op: "utimensat", Path: path, Err: fmt.Errorf("on %s: %w", runtime.GOOS, errors.ErrUnsupported)}
}
