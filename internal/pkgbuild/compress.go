package pkgbuild

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
)

// A Compressor compresses and decompresses package archives.
type Compressor interface {
	Compress(w io.Writer, r io.Reader) error
	Decompress(w io.Writer, r io.Reader) error
}

// XZ compresses with the xz command found through PATH (Debian's
// xz-utils, FreeBSD base). pkg reads .pkg files of any compression
// libarchive knows; xz is what pkg itself wrote by default before zstd.
// One thread, so that the output is the same on every run.
type XZ struct{}

// Compress runs xz -T1 -6 -c.
func (XZ) Compress(w io.Writer, r io.Reader) error { return runFilter(w, r, "xz", "-T1", "-6", "-c") }

// Decompress runs xz -d -c.
func (XZ) Decompress(w io.Writer, r io.Reader) error { return runFilter(w, r, "xz", "-d", "-c") }

func runFilter(w io.Writer, r io.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(context.Background(), name, args...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, w, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pkgbuild: %s %v: %w: %s", name, args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
