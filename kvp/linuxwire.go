package kvp

import (
	"fmt"
	"time"
)

// LinuxMsgSize is sizeof(struct hv_kvp_msg) on Linux
// (include/uapi/linux/hyperv.h): FreeBSD's field offsets, but the body
// union is not packed, and struct hv_kvp_msg_delete (a u32 and a byte
// array) gives it 4-byte alignment, which pads it from 7426 to 7428
// bytes. The two extra bytes are trailing padding at 7430-7431. The
// kernel refuses shorter writes (kvp_on_msg: len < sizeof(*message) is
// -EINVAL), and tools/hv/hv_kvp_daemon.c reads and writes this size.
const LinuxMsgSize = MsgSize + 2

// OpRegister1 is KVP_OP_REGISTER1 (include/uapi/linux/hyperv.h, enum
// hv_kvp_exchg_op): the registration a Linux daemon writes, and the
// operation of the kernel's answer. Linux's kvp_handle_handshake accepts
// KVP_OP_REGISTER (4) too, but then keeps dm_reg_value = KVP_OP_REGISTER
// and kvp_on_msg ignores the reply's error field; hvagent never sends it.
const OpRegister1 Op = 100

// LinuxDriverVersion is HV_DRV_VERSION (drivers/hv/hv_kvp.c): the
// version kvp_register sends back in the REGISTER1 answer, and what
// the C daemon serves as IntegrationServicesVersion.
const LinuxDriverVersion = "3.1"

// LinuxReplyWithin bounds the time from reading a request to writing
// its reply on Linux. The kernel waits HV_UTIL_TIMEOUT = 30 s
// (drivers/hv/hyperv_vmbus.h; hv_kvp.c, kvp_timeout_work) and then
// answers the host HV_E_FAIL; a reply written after that fails with
// EINVAL or, once the next request is posted, is taken as that request's
// answer (kvp_on_msg matches replies by state, not by id). 5 s of margin
// covers scheduling and the write itself.
const LinuxReplyWithin = 25 * time.Second

// registerOp is the operation of p's registration message.
func (p Protocol) registerOp() Op {
	if p == Linux {
		return OpRegister1
	}
	return OpRegister
}

// replyLayout is the body layout of a reply to op in p. Linux's
// kvp_respond_to_host reads a GET's value through
// msg_to_host->body.kvp_enum_data.data.value (offset 532, not 528, where
// FreeBSD reads it), so on Linux GET replies in ENUMERATE's layout; the
// kernel reads no key for GET.
func (p Protocol) replyLayout(op Op) Op {
	if p == Linux && op == OpGet {
		return OpEnumerate
	}
	return op
}

// DecodeRegister checks that b is p's registration message and returns
// its version: on Linux, the kernel's answer to REGISTER1 (kvp_register
// in drivers/hv/hv_kvp.c writes KVP_OP_REGISTER1 and HV_DRV_VERSION).
func (p Protocol) DecodeRegister(b []byte) (string, error) {
	if len(b) != p.MsgSize() {
		return "", fmt.Errorf("%w (%d bytes, want %d)", errSize, len(b), p.MsgSize())
	}
	if op := Op(b[offOp]); op != p.registerOp() {
		return "", fmt.Errorf("%w: operation %d, want %d", ErrMalformed, op, p.registerOp())
	}
	v, err := cstring(b[offBody : offBody+registerVerSize])
	if err != nil {
		return "", fmt.Errorf("register version: %w", err)
	}
	return v, nil
}
