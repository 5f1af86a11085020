//go:build freebsd

package fbsdnet

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The interface name limit, checked against the system's own constant
// where it is compiled (sys/net/if.h, IFNAMSIZ).
func TestContractIFNAMSIZ(t *testing.T) {
	if NameMax != unix.IFNAMSIZ-1 {
		t.Errorf("NameMax = %d, want unix.IFNAMSIZ-1 = %d", NameMax, unix.IFNAMSIZ-1)
	}
}
