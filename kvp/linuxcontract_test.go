package kvp

import (
	"encoding/binary"
	"testing"
	"time"
)

// The Linux facts of struct hv_kvp_msg and the KVP device, each with the
// source file and symbol it comes from.

// cAlign rounds n up to a multiple of a, as a C compiler pads a struct.
func cAlign(n, a int) int { return (n + a - 1) / a * a }

func TestContractLinux(t *testing.T) {
	// include/uapi/linux/hyperv.h: struct hv_kvp_msg is
	// __attribute__((packed)) around its header and a body union that is
	// not: the union's alignment is its most aligned member's, 4, from
	// the __u32 of struct hv_kvp_msg_delete (and the others' __u32s).
	// Its size, the largest member's (struct hv_kvp_ipaddr_value, 7426
	// bytes, itself packed), is rounded up to that alignment.
	_, ipEnd := packed(0, cMember{"adapter_id", 2 * cMaxAdapterID}, cMember{"addr_family", 1},
		cMember{"dhcp_enabled", 1}, cMember{"ip_addr", 2 * cMaxIPAddr}, cMember{"sub_net", 2 * cMaxIPAddr},
		cMember{"gate_way", 2 * cMaxGateway}, cMember{"dns_addr", 2 * cMaxIPAddr})
	const unionAlign = 4 // include/uapi/linux/hyperv.h, struct hv_kvp_msg_delete: __u32 key_size
	linuxSize := cHdr + cAlign(ipEnd, unionAlign)

	tests := []struct {
		name      string
		got, want int64
	}{
		{"sizeof(struct hv_kvp_msg) on Linux", LinuxMsgSize, int64(linuxSize)}, // include/uapi/linux/hyperv.h, struct hv_kvp_msg
		{"= 7432", int64(linuxSize), 7432},                                     // tools/hv/hv_kvp_daemon.c reads and writes sizeof(struct hv_kvp_msg)
		{"Linux.MsgSize", int64(Linux.MsgSize()), LinuxMsgSize},
		{"FreeBSD.MsgSize", int64(FreeBSD.MsgSize()), MsgSize},
		{"KVP_OP_REGISTER1", int64(OpRegister1), 100}, // include/uapi/linux/hyperv.h, enum hv_kvp_exchg_op
		{"KVP_OP_REGISTER", int64(OpRegister), 4},     // include/uapi/linux/hyperv.h, KVP_OP_REGISTER: never sent on Linux
		{"Linux registers with", int64(Linux.registerOp()), 100},
		{"FreeBSD registers with", int64(FreeBSD.registerOp()), 4},
		// drivers/hv/hyperv_vmbus.h, HV_UTIL_TIMEOUT (seconds): the
		// reply deadline must stay well inside it.
		{"HV_UTIL_TIMEOUT", int64(30 * time.Second), int64(LinuxReplyWithin + 5*time.Second)},
		// drivers/hv/hv_kvp.c, kvp_respond_to_host: a GET's value is
		// read from msg_to_host->body.kvp_enum_data.data.value.
		{"GET value on Linux", int64(offValue + enumOff), 532},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	strs := []struct{ name, got, want string }{
		{"HV_DRV_VERSION", LinuxDriverVersion, "3.1"},                   // drivers/hv/hv_kvp.c, HV_DRV_VERSION
		{"Linux device", Linux.DefaultDevice(), "/dev/vmbus/hv_kvp"},    // drivers/hv/hv_kvp.c, kvp_devname "vmbus/hv_kvp"
		{"FreeBSD device", FreeBSD.DefaultDevice(), "/dev/hv_kvp_dev"},  // sys/dev/hyperv/utilities/hv_kvp.c, make_dev_p "hv_kvp_dev"
		{"Linux pools", poolDirFor("linux"), "/var/lib/hyperv"},         // tools/hv/hv_kvp_daemon.c, KVP_CONFIG_LOC
		{"FreeBSD pools", poolDirFor("freebsd"), "/var/db/hyperv/pool"}, // contrib/hyperv/tools/hv_kvp_daemon.c, POOL_DIR
		{"protocol on linux", protocolFor("linux").String(), "linux"},
		{"protocol on freebsd", protocolFor("freebsd").String(), "freebsd"},
		{"protocol elsewhere", protocolFor("darwin").String(), "freebsd"},
	}
	for _, s := range strs {
		if s.got != s.want {
			t.Errorf("%s = %q, want %q", s.name, s.got, s.want)
		}
	}
}

// The encoder writes Linux messages as the kernel reads them.
func TestLinuxEncoding(t *testing.T) {
	le := binary.LittleEndian
	r := Linux.EncodeRegister("0.9.0")
	if len(r) != 7432 || r[0] != 100 || string(r[4:10]) != "0.9.0\x00" {
		t.Errorf("REGISTER1: %d bytes, op %d, version %q", len(r), r[0], r[4:10])
	}
	if v, err := Linux.DecodeRegister(Linux.EncodeRegister(LinuxDriverVersion)); err != nil || v != "3.1" {
		t.Errorf("DecodeRegister(the kernel's answer) = %q, %v", v, err)
	}
	if _, err := Linux.DecodeRegister(EncodeRegister("3.1")); err == nil {
		t.Error("a FreeBSD REGISTER decodes as the Linux kernel's answer")
	}
	bad := Linux.EncodeRegister("3.1")
	bad[0] = 4
	if _, err := Linux.DecodeRegister(bad); err == nil {
		t.Error("a 7432-byte REGISTER (4) decodes as REGISTER1")
	}

	// GET: the value at 532, where hv_kvp.c's kvp_respond_to_host reads
	// it; the two trailing bytes stay zero.
	b, err := Linux.EncodeReply(Msg{Op: OpGet}, StatusOK, Msg{KV: KeyValue{Key: "Key", Value: "Value"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 7432 || le.Uint32(b) != 0 || string(b[532:538]) != "Value\x00" || b[7430] != 0 || b[7431] != 0 {
		t.Errorf("Linux GET reply: %d bytes, status %#x, value@532 %q", len(b), le.Uint32(b), b[532:538])
	}
	m, err := Linux.DecodeReply(b, OpGet)
	if err != nil || m.Op != OpGet || m.KV.Value != "Value" || m.Index != 0 {
		t.Errorf("Linux.DecodeReply(GET) = %+v, %v", m, err)
	}
	// The same reply on FreeBSD keeps the value at 528.
	fb, err := EncodeReply(Msg{Op: OpGet}, StatusOK, Msg{KV: KeyValue{Key: "Key", Value: "Value"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fb) != 7430 || string(fb[528:534]) != "Value\x00" {
		t.Errorf("FreeBSD GET reply: %d bytes, value@528 %q", len(fb), fb[528:534])
	}
	// ENUMERATE is the same on both, apart from the size.
	eb, err := Linux.EncodeReply(Msg{Op: OpEnumerate}, StatusOK, Msg{Index: 3, KV: KeyValue{Key: "K", Value: "V"}})
	if err != nil {
		t.Fatal(err)
	}
	fe, _ := EncodeReply(Msg{Op: OpEnumerate}, StatusOK, Msg{Index: 3, KV: KeyValue{Key: "K", Value: "V"}})
	if string(eb[:MsgSize]) != string(fe) {
		t.Error("Linux ENUMERATE reply differs from FreeBSD's in the first 7430 bytes")
	}
	// Requests: FreeBSD's bytes, two bytes longer.
	req, err := Linux.EncodeRequest(Msg{Op: OpSet, Pool: 1, KV: KeyValue{Key: "k", Value: "v"}})
	if err != nil {
		t.Fatal(err)
	}
	freq, _ := EncodeRequest(Msg{Op: OpSet, Pool: 1, KV: KeyValue{Key: "k", Value: "v"}})
	if len(req) != 7432 || string(req[:MsgSize]) != string(freq) {
		t.Error("Linux SET request is not FreeBSD's bytes plus two")
	}
	if _, err := Linux.DecodeRequest(freq); err == nil {
		t.Error("Linux.DecodeRequest accepts a 7430-byte message")
	}
	if _, err := DecodeRequest(req); err == nil {
		t.Error("DecodeRequest (FreeBSD) accepts a 7432-byte message")
	}
}

func TestParseProtocol(t *testing.T) {
	for _, p := range []Protocol{FreeBSD, Linux} {
		got, err := ParseProtocol(p.String())
		if err != nil || got != p {
			t.Errorf("ParseProtocol(%q) = %v, %v", p.String(), got, err)
		}
	}
	for _, s := range []string{"", "Linux", "windows"} {
		if _, err := ParseProtocol(s); err == nil {
			t.Errorf("ParseProtocol(%q) succeeded", s)
		}
	}
}
