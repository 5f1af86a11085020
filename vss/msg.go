package vss

import (
	"encoding/binary"
	"fmt"
)

// MsgSize is the size of struct hv_vss_opt_msg
// (sys/dev/hyperv/utilities/hv_snapshot.h).
const MsgSize = 64

// Op is the operation the host asks for.
type Op uint32

// Operations (sys/dev/hyperv/utilities/hv_snapshot.h, enum hv_vss_op_t:
// HV_VSS_CHECK, HV_VSS_FREEZE, HV_VSS_THAW).
const (
	OpCheck  Op = 1
	OpFreeze Op = 2
	OpThaw   Op = 3
)

func (o Op) String() string {
	switch o {
	case OpCheck:
		return "check"
	case OpFreeze:
		return "freeze"
	case OpThaw:
		return "thaw"
	}
	return "unknown"
}

// Status is the result field: success or failure.
type Status uint32

// Statuses (sys/dev/hyperv/utilities/hv_snapshot.h: VSS_SUCCESS, VSS_FAIL).
const (
	StatusSuccess Status = 0
	StatusFailure Status = 1
)

// Msg is a decoded hv_vss_opt_msg: opt u32 @0, status u32 @4, msgid u64
// @8, reserved[48] @16, little-endian.
type Msg struct {
	Op     Op
	Status Status
	MsgID  uint64
}

// Decode parses one 64-byte message. The reserved bytes are ignored.
func Decode(b []byte) (Msg, error) {
	if len(b) != MsgSize {
		return Msg{}, fmt.Errorf("vss: message of %d bytes, want %d", len(b), MsgSize)
	}
	return Msg{
		Op:     Op(binary.LittleEndian.Uint32(b[0:])),
		Status: Status(binary.LittleEndian.Uint32(b[4:])),
		MsgID:  binary.LittleEndian.Uint64(b[8:]),
	}, nil
}

// Encode writes m as 64 bytes with zero reserved bytes.
func (m Msg) Encode() []byte {
	b := make([]byte, MsgSize)
	binary.LittleEndian.PutUint32(b[0:], uint32(m.Op))
	binary.LittleEndian.PutUint32(b[4:], uint32(m.Status))
	binary.LittleEndian.PutUint64(b[8:], m.MsgID)
	return b
}

// Reply is the answer to req: the same operation and msgid with status set.
func Reply(req Msg, st Status) Msg {
	return Msg{Op: req.Op, Status: st, MsgID: req.MsgID}
}
