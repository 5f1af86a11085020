//go:build freebsd

package vf

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// The FreeBSD facts of NativeSysctl, checked where it is compiled
// (GOOS=freebsd go vet type-checks this file for amd64 and arm64; the
// values do not differ between them).
func TestContractNativeSysctl(t *testing.T) {
	// The sysctls if_hn.c declares as int (4 bytes on amd64 and arm64),
	// which NativeSysctl decodes as numbers; the others are strings.
	wantInts := []string{
		".vf_transparent",  // sys/dev/hyperv/netvsc/if_hn.c, SYSCTL_INT(_hw_hn, OID_AUTO, vf_transparent)
		".vf_xpnt_enabled", // sys/dev/hyperv/netvsc/if_hn.c, SYSCTL_ADD_PROC(... "vf_xpnt_enabled", CTLTYPE_INT ...)
		".vf_xpnt_attwait", // sys/dev/hyperv/netvsc/if_hn.c, SYSCTL_INT(_hw_hn, OID_AUTO, vf_xpnt_attwait)
	}
	if !slices.Equal(intSuffixes, wantInts) {
		t.Errorf("int sysctls %q, want %q", intSuffixes, wantInts)
	}
	// sys/sys/errno.h, ENOENT: what sysctl(3) returns for a name that
	// does not exist, which NativeSysctl turns into ErrNoSysctl.
	if unix.ENOENT != 2 {
		t.Errorf("ENOENT = %d, want 2", unix.ENOENT)
	}
}
