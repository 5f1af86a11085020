package vf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// NativeSysctl reads sysctls with sysctl(3); it never forks.
type NativeSysctl struct{}

// intSuffixes name the integer-valued sysctls the agent reads (if_hn.c
// declares them CTLTYPE_INT); the others are strings.
var intSuffixes = []string{".vf_transparent", ".vf_xpnt_enabled", ".vf_xpnt_attwait"}

// Sysctl implements Sysctl.
func (NativeSysctl) Sysctl(name string) (string, error) {
	b, err := unix.SysctlRaw(name)
	if errors.Is(err, unix.ENOENT) {
		return "", fmt.Errorf("%w: %s", ErrNoSysctl, name)
	}
	if err != nil {
		return "", fmt.Errorf("vf: sysctl %s: %w", name, err)
	}
	for _, s := range intSuffixes {
		if strings.HasSuffix(name, s) {
			if len(b) != 4 {
				return "", fmt.Errorf("vf: sysctl %s: %d bytes, want a 4-byte int", name, len(b))
			}
			return strconv.Itoa(int(int32(binary.NativeEndian.Uint32(b)))), nil
		}
	}
	s, _, _ := strings.Cut(string(b), "\x00")
	return s, nil
}

// DefaultSysctl is how the daemon reads sysctls on this system.
func DefaultSysctl(Runner) Sysctl { return NativeSysctl{} }
