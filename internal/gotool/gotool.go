package gotool

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// Path returns the go command to run: the one on PATH (go test puts its
// own GOROOT/bin first there), else GOROOT/bin/go when the GOROOT
// environment variable names a toolchain, which is what "go env GOROOT"
// reports when it is set.
func Path() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("the go command is neither on PATH nor in $GOROOT/bin")
}
