package vss

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The Linux kernel's VSS messages (include/uapi/linux/hyperv.h, struct
// hv_vss_msg; drivers/hv/hv_snapshot.c). Untagged, so the socket transport
// speaks them on any system and the tests run everywhere.

// LinuxMsgSize is sizeof(struct hv_vss_msg), packed: the 8-byte struct
// hv_vss_hdr (operation u8, reserved[7]) overlapped by int error, then the
// 4-byte union of hv_vss_check_feature and hv_vss_check_dm_info (u32
// flags). hv_snapshot.c's vss_on_msg refuses a write of any other length
// with EINVAL.
const LinuxMsgSize = 12

// linuxRegisterReplySize is the kernel's answer to VSS_OP_REGISTER1: the
// u32 our_ver = VSS_OP_REGISTER1 that vss_handle_handshake
// (drivers/hv/hv_snapshot.c) hands to hvutil_transport_send.
const linuxRegisterReplySize = 4

// Linux operation codes (include/uapi/linux/hyperv.h, enum hv_vss_op and
// VSS_OP_REGISTER1). Only HOT_BACKUP, FREEZE and THAW reach the daemon:
// hv_vss_onchannelcallback answers every other operation itself.
const (
	linuxOpHotBackup = 2   // VSS_OP_HOT_BACKUP
	linuxOpFreeze    = 5   // VSS_OP_FREEZE
	linuxOpThaw      = 6   // VSS_OP_THAW
	linuxOpRegister1 = 129 // VSS_OP_REGISTER1: the kernel answers with its version
)

// Reply errors: an HRESULT the kernel hands to the host verbatim
// (vss_on_msg → vss_respond_to_host(vss_msg->error)). 1 would be S_FALSE,
// a success code, so failure is HV_E_FAIL (include/linux/hyperv.h).
const (
	linuxSOK   = 0          // HV_S_OK
	linuxEFail = 0x80004005 // HV_E_FAIL
)

// Kernel timeouts for a reply (drivers/hv/hv_snapshot.c, vss_send_op
// arming vss_timeout_work): VSS_FREEZE_TIMEOUT for FREEZE, HV_UTIL_TIMEOUT
// (drivers/hv/hyperv_vmbus.h) for THAW and HOT_BACKUP. The agent's own
// budgets (opBudget, and the thaw hooks inside it) fit well inside the
// shorter one.
const (
	LinuxFreezeTimeout = 900 * time.Second // VSS_FREEZE_TIMEOUT, 15 * 60 s
	LinuxUtilTimeout   = 30 * time.Second  // HV_UTIL_TIMEOUT
)

// linuxOps maps the Linux operations onto the subsystem's: HOT_BACKUP is
// the host asking whether a backup can proceed, FreeBSD's CHECK.
var linuxOps = map[byte]Op{
	linuxOpHotBackup: OpCheck,
	linuxOpFreeze:    OpFreeze,
	linuxOpThaw:      OpThaw,
}

// decodeLinux parses one 12-byte request; only byte 0 is set by
// vss_send_op. An operation the kernel never forwards decodes to an Op
// that Handle answers as unknown.
func decodeLinux(b []byte) (Msg, error) {
	if len(b) != LinuxMsgSize {
		return Msg{}, fmt.Errorf("vss: message of %d bytes, want %d", len(b), LinuxMsgSize)
	}
	op, ok := linuxOps[b[0]]
	if !ok {
		op = Op(0x100 | uint32(b[0])) // no FreeBSD operation has this value
	}
	return Msg{Op: op}, nil
}

// encodeLinux builds the 12-byte reply: error in bytes 0–3, nothing else.
// The kernel ignores the flags (vss_on_msg sets VSS_HBU_NO_AUTO_RECOVERY
// itself only when byte 0 reads VSS_OP_HOT_BACKUP, which error 0 or
// HV_E_FAIL never does).
func encodeLinux(st Status) []byte {
	b := make([]byte, LinuxMsgSize)
	e := uint32(linuxSOK)
	if st != StatusSuccess {
		e = linuxEFail
	}
	binary.LittleEndian.PutUint32(b, e)
	return b
}

// linuxRegister1 is the daemon's first write: operation
// VSS_OP_REGISTER1 in byte 0, the rest zero, as tools/hv/hv_vss_daemon.c
// sends it.
func linuxRegister1() []byte {
	b := make([]byte, LinuxMsgSize)
	b[0] = linuxOpRegister1
	return b
}

// checkLinuxRegisterReply accepts the kernel's answer to REGISTER1: the
// little-endian u32 VSS_OP_REGISTER1.
func checkLinuxRegisterReply(b []byte) error {
	if len(b) != linuxRegisterReplySize {
		return fmt.Errorf("vss: register answer of %d bytes, want %d", len(b), linuxRegisterReplySize)
	}
	if v := binary.LittleEndian.Uint32(b); v != linuxOpRegister1 {
		return fmt.Errorf("vss: register answer %d, want %d (VSS_OP_REGISTER1)", v, linuxOpRegister1)
	}
	return nil
}
