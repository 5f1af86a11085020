package vss

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// FreeBSD struct statfs (sys/sys/mount.h, STATFS_VERSION 0x20140518, the
// layout since FreeBSD 12), as getfsstat(2) returns it. Offsets of the
// fields the planner needs; statfs_freebsd_test.go checks them against
// x/sys/unix.Statfs_t when built for FreeBSD.
const (
	statfsSize        = 2344
	statfsOffFlags    = 8    // uint64 f_flags
	statfsOffFsid     = 192  // fsid_t f_fsid: int32 val[2]
	statfsOffTypeName = 280  // char f_fstypename[16]
	statfsOffFromName = 296  // char f_mntfromname[1024]
	statfsOffOnName   = 1320 // char f_mntonname[1024]
	mfsNameLen        = 16
	mNameLen          = 1024
	mntRdOnly         = 0x1 // MNT_RDONLY
)

// DecodeStatfs decodes an array of FreeBSD struct statfs, in the order
// getfsstat returned them (mount order).
func DecodeStatfs(b []byte) ([]Mount, error) {
	if len(b)%statfsSize != 0 {
		return nil, fmt.Errorf("vss: statfs data of %d bytes is not a multiple of %d", len(b), statfsSize)
	}
	out := make([]Mount, 0, len(b)/statfsSize)
	for off := 0; off < len(b); off += statfsSize {
		out = append(out, decodeOneStatfs(b[off:off+statfsSize]))
	}
	return out, nil
}

func decodeOneStatfs(s []byte) Mount {
	le := binary.LittleEndian
	fsid := [2]int32{int32(le.Uint32(s[statfsOffFsid:])), int32(le.Uint32(s[statfsOffFsid+4:]))}
	return Mount{
		Dir:      cField(s[statfsOffOnName : statfsOffOnName+mNameLen]),
		Type:     cField(s[statfsOffTypeName : statfsOffTypeName+mfsNameLen]),
		Source:   cField(s[statfsOffFromName : statfsOffFromName+mNameLen]),
		ReadOnly: le.Uint64(s[statfsOffFlags:])&mntRdOnly != 0,
		Fsid:     fsid,
		Dev:      fmt.Sprintf("%08x:%08x", uint32(fsid[0]), uint32(fsid[1])),
	}
}

// cField is a NUL-terminated string inside a fixed field.
func cField(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
