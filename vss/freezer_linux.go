//go:build amd64 || arm64

package vss

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/unix"
)

// newChildData: on Linux the child opens each mount point read-only and
// freezes it with FIFREEZE; FITHAW thaws it. The mount point is a
// directory, so the child holds no writable file. As the Linux daemon
// does (tools/hv/hv_vss_daemon.c, vss_do_freeze), FIFREEZE's EBUSY
// (already frozen: the same filesystem reached twice, or frozen by
// someone else; fs/super.c, freeze_super) and FITHAW's EINVAL (not
// frozen; thaw_super) count as success.
func newChildData(targets []Target) (*childData, any, error) {
	d := &childData{
		n:         uintptr(len(targets)),
		openFlags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOCTTY,
		freezeReq: linuxFIFreeze,
		thawReq:   linuxFIThaw,
		freezeOK:  uintptr(unix.EBUSY),
		thawOK:    uintptr(unix.EINVAL),
	}
	paths := make([][]byte, len(targets))
	for i, t := range targets {
		p, err := cString(t.Dir)
		if err != nil {
			return nil, nil, err
		}
		paths[i] = p
		d.path[i] = uintptr(unsafe.Pointer(&p[0]))
	}
	return d, paths, nil
}

// cString returns s as a NUL-terminated byte slice for the child.
func cString(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return nil, fmt.Errorf("vss: path %q contains NUL", s)
		}
	}
	return append([]byte(s), 0), nil
}

func makeTimeout(d time.Duration) timeout {
	if d <= 0 {
		return timeout{}
	}
	return timeout{sec: int64(d / time.Second), nsec: int64(d % time.Second), set: true}
}

// thawAll is the agent's own thaw, for when the freezer died: on Linux a
// frozen filesystem stays frozen after the freezing process exits, so the
// agent must FITHAW every target (in mount order). EINVAL means it was
// not frozen, which is what we want.
func thawAll(targets []Target) error {
	var errs *multierror.Error
	for _, t := range targets {
		if err := fiThaw(t.Dir); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

func fiThaw(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("vss: thaw %s: %w", dir, err)
	}
	defer unix.Close(fd)
	err = unix.IoctlSetInt(fd, linuxFIThaw, 0)
	if err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("vss: thaw %s: %w", dir, err)
	}
	return nil
}
