package vss

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestStatfsLayout checks the offsets DecodeStatfs uses against
// x/sys/unix's FreeBSD Statfs_t (compiled by GOOS=freebsd go vet/test).
func TestStatfsLayout(t *testing.T) {
	var s unix.Statfs_t
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"size", unsafe.Sizeof(s), statfsSize},
		{"Flags", unsafe.Offsetof(s.Flags), statfsOffFlags},
		{"Fsid", unsafe.Offsetof(s.Fsid), statfsOffFsid},
		{"Fstypename", unsafe.Offsetof(s.Fstypename), statfsOffTypeName},
		{"Mntfromname", unsafe.Offsetof(s.Mntfromname), statfsOffFromName},
		{"Mntonname", unsafe.Offsetof(s.Mntonname), statfsOffOnName},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
}
