package vss

import (
	"encoding/binary"
	"testing"
)

// The FreeBSD (and Linux) kernel facts the vss package relies on, each
// with the source file and symbol it comes from. Sizes and offsets of Go
// structs that mirror C structs are checked against x/sys/unix in
// contract_freebsd_test.go; this file checks the plain values, on every
// system the tests run on.

// ioccom builds an ioctl number the way sys/sys/ioccom.h's _IOC does:
// inout | ((len & IOCPARM_MASK) << 16) | (group << 8) | num, with
// IOCPARM_SHIFT 13. It is written here again, apart from bsdIOC, so a
// mistake in one of them shows.
func ioccom(inout uint32, group byte, num, size uint32) uint32 {
	const iocparmMask = 1<<13 - 1 // sys/sys/ioccom.h, IOCPARM_MASK
	return inout | (size&iocparmMask)<<16 | uint32(group)<<8 | num
}

// Direction bits, sys/sys/ioccom.h.
const (
	iocVoid = 0x20000000 // sys/sys/ioccom.h, IOC_VOID
	iocOut  = 0x40000000 // sys/sys/ioccom.h, IOC_OUT
	iocIn   = 0x80000000 // sys/sys/ioccom.h, IOC_IN
)

func TestContractIoctls(t *testing.T) {
	tests := []struct {
		name string
		got  uint32
		// the _IOC parts, and the number they make, written out
		inout     uint32
		group     byte
		num, size uint32
		want      uint32
	}{
		// sys/dev/hyperv/utilities/hv_snapshot.h, IOCHVVSSREAD: _IOR('v', 2, struct hv_vss_opt_msg)
		{"IOCHVVSSREAD", iocHVVSSRead, iocOut, 'v', 2, 64, 0x40407602},
		// sys/dev/hyperv/utilities/hv_snapshot.h, IOCHVVSSWRITE: _IOW('v', 3, struct hv_vss_opt_msg)
		{"IOCHVVSSWRITE", iocHVVSSWrite, iocIn, 'v', 3, 64, 0x80407603},
		// sys/ufs/ffs/fs.h, UFSSUSPEND: _IOW('U', 1, fsid_t); sys/sys/_types.h, fsid_t is int32_t val[2]
		{"UFSSUSPEND", iocUFSSuspend, iocIn, 'U', 1, 8, 0x80085501},
		// sys/ufs/ffs/fs.h, UFSRESUME: _IO('U', 2)
		{"UFSRESUME", iocUFSResume, iocVoid, 'U', 2, 0, 0x20005502},
	}
	for _, tt := range tests {
		if c := ioccom(tt.inout, tt.group, tt.num, tt.size); c != tt.want {
			t.Errorf("%s: _IOC parts make %#x, the table says %#x", tt.name, c, tt.want)
		}
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	// The bits the direction constants of ioctl.go use.
	for _, c := range []struct {
		name      string
		got, want uint32
	}{
		{"IOC_VOID", bsdIOCVoid, iocVoid}, // sys/sys/ioccom.h, IOC_VOID
		{"IOC_OUT", bsdIOCOut, iocOut},    // sys/sys/ioccom.h, IOC_OUT
		{"IOC_IN", bsdIOCIn, iocIn},       // sys/sys/ioccom.h, IOC_IN
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

// Linux's FIFREEZE and FITHAW, recomputed from asm-generic/ioctl.h's
// _IOC: dir << 30 | size << 16 | type << 8 | nr, _IOC_WRITE 1, _IOC_READ 2.
func TestContractLinuxIoctls(t *testing.T) {
	linuxIOC := func(dir, typ, nr, size uint32) uint32 { return dir<<30 | size<<16 | typ<<8 | nr }
	const iocRW = 1 | 2 // include/uapi/asm-generic/ioctl.h, _IOC_WRITE|_IOC_READ
	tests := []struct {
		name      string
		got, want uint32
		parts     uint32
	}{
		// include/uapi/linux/fs.h, FIFREEZE: _IOWR('X', 119, int)
		{"FIFREEZE", linuxFIFreeze, 0xc0045877, linuxIOC(iocRW, 'X', 119, 4)},
		// include/uapi/linux/fs.h, FITHAW: _IOWR('X', 120, int)
		{"FITHAW", linuxFIThaw, 0xc0045878, linuxIOC(iocRW, 'X', 120, 4)},
	}
	for _, tt := range tests {
		if tt.got != tt.want || tt.parts != tt.want {
			t.Errorf("%s = %#x (parts make %#x), want %#x", tt.name, tt.got, tt.parts, tt.want)
		}
	}
}

// struct hv_vss_opt_msg and its codes (sys/dev/hyperv/utilities/hv_snapshot.h).
func TestContractMessage(t *testing.T) {
	values := []struct {
		name      string
		got, want uint64
	}{
		// sys/dev/hyperv/utilities/hv_snapshot.h, struct hv_vss_opt_msg: u32 opt, u32 status, u64 msgid, u8 reserved[48]
		{"sizeof(struct hv_vss_opt_msg)", MsgSize, 4 + 4 + 8 + 48},
		{"HV_VSS_CHECK", uint64(OpCheck), 1},      // sys/dev/hyperv/utilities/hv_snapshot.h, enum hv_vss_op_t HV_VSS_CHECK
		{"HV_VSS_FREEZE", uint64(OpFreeze), 2},    // sys/dev/hyperv/utilities/hv_snapshot.h, enum hv_vss_op_t HV_VSS_FREEZE
		{"HV_VSS_THAW", uint64(OpThaw), 3},        // sys/dev/hyperv/utilities/hv_snapshot.h, enum hv_vss_op_t HV_VSS_THAW
		{"VSS_SUCCESS", uint64(StatusSuccess), 0}, // sys/dev/hyperv/utilities/hv_snapshot.h, VSS_SUCCESS
		{"VSS_FAIL", uint64(StatusFailure), 1},    // sys/dev/hyperv/utilities/hv_snapshot.h, VSS_FAIL
	}
	for _, v := range values {
		if v.got != v.want {
			t.Errorf("%s = %d, want %d", v.name, v.got, v.want)
		}
	}
	// Field offsets, little-endian (amd64 and arm64 alike).
	b := Msg{Op: OpThaw, Status: StatusFailure, MsgID: 0x1122334455667788}.Encode()
	le := binary.LittleEndian
	offsets := []struct {
		name      string
		got, want uint64
	}{
		{"opt @0", uint64(le.Uint32(b[0:])), 3},                    // sys/dev/hyperv/utilities/hv_snapshot.h, hv_vss_opt_msg.opt
		{"status @4", uint64(le.Uint32(b[4:])), 1},                 // sys/dev/hyperv/utilities/hv_snapshot.h, hv_vss_opt_msg.status
		{"msgid @8", le.Uint64(b[8:]), 0x1122334455667788},         // sys/dev/hyperv/utilities/hv_snapshot.h, hv_vss_opt_msg.msgid
		{"reserved @16..63 zero", uint64(countNonZero(b[16:])), 0}, // sys/dev/hyperv/utilities/hv_snapshot.h, hv_vss_opt_msg.reserved
	}
	for _, o := range offsets {
		if o.got != o.want {
			t.Errorf("%s: %#x, want %#x", o.name, o.got, o.want)
		}
	}
}

func countNonZero(b []byte) int {
	n := 0
	for _, c := range b {
		if c != 0 {
			n++
		}
	}
	return n
}

func TestContractPaths(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		// sys/dev/hyperv/utilities/hv_snapshot.h, VSS_DEV(FS_VSS_DEV_NAME)
		{"VSS device", DefaultDevice, "/dev/hv_fsvss_dev"},
		// Not a FreeBSD name: no FreeBSD source defines it (searched);
		// hvagent(8) (--vss.device) accepts it as an alias when present.
		{"VSS device alias", AliasDevice, "/dev/hv_fsfreeze_dev"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// cStatfsLayout is struct statfs of sys/sys/mount.h (STATFS_VERSION
// 0x20140518, FreeBSD 12 and later), field by field, with C's natural
// alignment: the same on amd64 and arm64, which both align 8-byte
// integers to 8 and have a 4-byte uid_t.
var cStatfsLayout = []struct {
	name        string
	size, align uintptr
}{
	{"f_version", 4, 4},        // uint32_t
	{"f_type", 4, 4},           // uint32_t
	{"f_flags", 8, 8},          // uint64_t
	{"f_bsize", 8, 8},          // uint64_t
	{"f_iosize", 8, 8},         // uint64_t
	{"f_blocks", 8, 8},         // uint64_t
	{"f_bfree", 8, 8},          // uint64_t
	{"f_bavail", 8, 8},         // int64_t
	{"f_files", 8, 8},          // uint64_t
	{"f_ffree", 8, 8},          // int64_t
	{"f_syncwrites", 8, 8},     // uint64_t
	{"f_asyncwrites", 8, 8},    // uint64_t
	{"f_syncreads", 8, 8},      // uint64_t
	{"f_asyncreads", 8, 8},     // uint64_t
	{"f_spare", 10 * 8, 8},     // uint64_t f_spare[10]
	{"f_namemax", 4, 4},        // uint32_t
	{"f_owner", 4, 4},          // uid_t (sys/sys/_types.h, __uid_t: __uint32_t)
	{"f_fsid", 8, 4},           // fsid_t (sys/sys/_types.h: int32_t val[2])
	{"f_charspare", 80, 1},     // char f_charspare[80]
	{"f_fstypename", 16, 1},    // char f_fstypename[MFSNAMELEN]
	{"f_mntfromname", 1024, 1}, // char f_mntfromname[MNAMELEN]
	{"f_mntonname", 1024, 1},   // char f_mntonname[MNAMELEN]
}

// cLayout returns each field's offset and the struct's size.
func cLayout() (map[string]uintptr, uintptr) {
	off := map[string]uintptr{}
	var at, maxAlign uintptr = 0, 1
	for _, f := range cStatfsLayout {
		at = (at + f.align - 1) &^ (f.align - 1)
		off[f.name] = at
		at += f.size
		maxAlign = max(maxAlign, f.align)
	}
	return off, (at + maxAlign - 1) &^ (maxAlign - 1)
}

// TestContractStatfs checks the offsets DecodeStatfs uses against the
// C layout written out above, so Linux runs the check too;
// contract_freebsd_test.go checks them against x/sys/unix.Statfs_t.
func TestContractStatfs(t *testing.T) {
	off, size := cLayout()
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(struct statfs)", statfsSize, size},                // sys/sys/mount.h, struct statfs
		{"f_flags", statfsOffFlags, off["f_flags"]},                // sys/sys/mount.h, statfs.f_flags
		{"f_fsid", statfsOffFsid, off["f_fsid"]},                   // sys/sys/mount.h, statfs.f_fsid
		{"f_fstypename", statfsOffTypeName, off["f_fstypename"]},   // sys/sys/mount.h, statfs.f_fstypename
		{"f_mntfromname", statfsOffFromName, off["f_mntfromname"]}, // sys/sys/mount.h, statfs.f_mntfromname
		{"f_mntonname", statfsOffOnName, off["f_mntonname"]},       // sys/sys/mount.h, statfs.f_mntonname
		{"MFSNAMELEN", mfsNameLen, 16},                             // sys/sys/mount.h, MFSNAMELEN
		{"MNAMELEN", mNameLen, 1024},                               // sys/sys/mount.h, MNAMELEN
		{"MNT_RDONLY", mntRdOnly, 0x1},                             // sys/sys/mount.h, MNT_RDONLY
		// The numbers themselves, so a change to the table above shows too.
		{"sizeof(struct statfs) = 2344", size, 2344},
		{"f_fsid @192", off["f_fsid"], 192},
		{"f_fstypename @280", off["f_fstypename"], 280},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

// The Linux kernel's VSS values (include/uapi/linux/hyperv.h,
// drivers/hv/hv_snapshot.c, drivers/hv/hyperv_vmbus.h,
// include/linux/hyperv.h), as the socket transport and the device speak
// them.
func TestContractLinuxVSS(t *testing.T) {
	tests := []struct {
		name      string
		got, want uint64
	}{
		// include/uapi/linux/hyperv.h, struct hv_vss_msg: packed union of
		// struct hv_vss_hdr (u8 operation, u8 reserved[7]) and int error,
		// then a union of u32 flags
		{"sizeof(struct hv_vss_msg)", LinuxMsgSize, 8 + 4},
		// drivers/hv/hv_snapshot.c, vss_handle_handshake: u32 our_ver
		{"REGISTER1 answer", linuxRegisterReplySize, 4},
		// include/uapi/linux/hyperv.h, enum hv_vss_op: CREATE 0, DELETE,
		// HOT_BACKUP, GET_DM_INFO, BU_COMPLETE, FREEZE, THAW
		{"VSS_OP_HOT_BACKUP", linuxOpHotBackup, 2},
		{"VSS_OP_FREEZE", linuxOpFreeze, 5},
		{"VSS_OP_THAW", linuxOpThaw, 6},
		// include/uapi/linux/hyperv.h, VSS_OP_REGISTER1
		{"VSS_OP_REGISTER1", linuxOpRegister1, 129},
		// include/linux/hyperv.h, HV_S_OK and HV_E_FAIL
		{"HV_S_OK", linuxSOK, 0},
		{"HV_E_FAIL", linuxEFail, 0x80004005},
		// drivers/hv/hv_snapshot.c, VSS_FREEZE_TIMEOUT (15 * 60 s)
		{"VSS_FREEZE_TIMEOUT", uint64(LinuxFreezeTimeout.Seconds()), 900},
		// drivers/hv/hyperv_vmbus.h, HV_UTIL_TIMEOUT
		{"HV_UTIL_TIMEOUT", uint64(LinuxUtilTimeout.Seconds()), 30},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	// drivers/hv/hv_snapshot.c, vss_devname "vmbus/hv_vss", passed to hvutil_transport_init
	if LinuxDevice != "/dev/vmbus/hv_vss" {
		t.Errorf("LinuxDevice = %s", LinuxDevice)
	}
	// The whole THAW, thaw hooks included, must answer inside the Linux
	// kernel's HV_UTIL_TIMEOUT, with margin.
	if opBudget >= LinuxUtilTimeout*3/4 {
		t.Errorf("opBudget %s does not fit well inside HV_UTIL_TIMEOUT %s", opBudget, LinuxUtilTimeout)
	}
	// The answer to REGISTER1 decodes as the kernel sends it.
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, 129)
	if err := checkLinuxRegisterReply(b); err != nil {
		t.Error(err)
	}
}
