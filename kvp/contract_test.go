package kvp

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// The FreeBSD facts of struct hv_kvp_msg and its codes, each with the
// source file and symbol it comes from. The message is packed and made
// of fixed-size integers and byte arrays, so its layout is the same on
// amd64 and arm64; the offsets are recomputed here from the C structs
// written out field by field, and checked both against the constants
// msg.go uses and against the bytes its encoder produces.

type cMember struct {
	name string
	size int
}

// packed lays fields out back to back (__attribute__((packed))) from
// start and returns each field's offset and the end.
func packed(start int, fields ...cMember) (map[string]int, int) {
	off := map[string]int{}
	at := start
	for _, f := range fields {
		off[f.name] = at
		at += f.size
	}
	return off, at
}

// sys/dev/hyperv/utilities/hv_kvp.h: the sizes the structs are made of.
const (
	cMaxKeySize   = 512  // sys/dev/hyperv/utilities/hv_kvp.h, HV_KVP_EXCHANGE_MAX_KEY_SIZE
	cMaxValueSize = 2048 // sys/dev/hyperv/utilities/hv_kvp.h, HV_KVP_EXCHANGE_MAX_VALUE_SIZE
	cMaxAdapterID = 128  // sys/dev/hyperv/utilities/hv_kvp.h, MAX_ADAPTER_ID_SIZE (uint16_t units)
	cMaxIPAddr    = 1024 // sys/dev/hyperv/utilities/hv_kvp.h, MAX_IP_ADDR_SIZE (uint16_t units)
	cMaxGateway   = 512  // sys/dev/hyperv/utilities/hv_kvp.h, MAX_GATEWAY_SIZE (uint16_t units)
	cHdr          = 4    // sys/dev/hyperv/utilities/hv_kvp.h, struct hv_kvp_hdr: u8 operation, u8 pool, u16 pad
)

// struct hv_kvp_exchg_msg_value (sys/dev/hyperv/utilities/hv_kvp.h).
func exchgValue(prefix string) []cMember {
	return []cMember{
		{prefix + "value_type", 4}, {prefix + "key_size", 4}, {prefix + "value_size", 4},
		{prefix + "key", cMaxKeySize}, {prefix + "value", cMaxValueSize},
	}
}

func TestContractMessageLayout(t *testing.T) {
	get, getEnd := packed(cHdr, exchgValue("")...)                                                 // struct hv_kvp_msg_get / _set
	enum, enumEnd := packed(cHdr, append([]cMember{{"index", 4}}, exchgValue("")...)...)           // struct hv_kvp_msg_enumerate
	del, delEnd := packed(cHdr, cMember{"key_size", 4}, cMember{"key", cMaxKeySize})               // struct hv_kvp_msg_delete
	reg, regEnd := packed(cHdr, cMember{"version", cMaxKeySize})                                   // struct hv_kvp_register
	ip, ipEnd := packed(cHdr, cMember{"adapter_id", 2 * cMaxAdapterID}, cMember{"addr_family", 1}, // struct hv_kvp_ipaddr_value
		cMember{"dhcp_enabled", 1}, cMember{"ip_addr", 2 * cMaxIPAddr}, cMember{"sub_net", 2 * cMaxIPAddr},
		cMember{"gate_way", 2 * cMaxGateway}, cMember{"dns_addr", 2 * cMaxIPAddr})
	size := max(getEnd, enumEnd, delEnd, regEnd, ipEnd) // the body union, after the header

	tests := []struct {
		name      string
		got, want int
	}{
		{"sizeof(struct hv_kvp_msg)", MsgSize, size},               // sys/dev/hyperv/utilities/hv_kvp.h, struct hv_kvp_msg; hv_kvp.c, BUFFERSIZE
		{"sizeof(struct hv_kvp_msg) = 7430", size, 7430},           // sys/dev/hyperv/utilities/hv_kvp.c, BUFFERSIZE
		{"header", offBody, cHdr},                                  // sys/dev/hyperv/utilities/hv_kvp.h, struct hv_kvp_hdr
		{"operation", offOp, 0},                                    // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_hdr.operation
		{"pool", offPool, 1},                                       // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_hdr.pool
		{"get.value_type", offVType, get["value_type"]},            // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_exchg_msg_value.value_type
		{"get.key_size", offKSize, get["key_size"]},                // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_exchg_msg_value.key_size
		{"get.value_size", offVSize, get["value_size"]},            // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_exchg_msg_value.value_size
		{"get.key", offKey, get["key"]},                            // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_exchg_msg_value.key
		{"get.value", offValue, get["value"]},                      // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_exchg_msg_value.msg_value
		{"enumerate.index", offIndex, enum["index"]},               // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_msg_enumerate.index
		{"enumerate.data", offVType + enumOff, enum["value_type"]}, // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_msg_enumerate.data
		{"delete.key_size", offDelKS, del["key_size"]},             // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_msg_delete.key_size
		{"delete.key", offDelK, del["key"]},                        // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_msg_delete.key
		{"register.version", offBody, reg["version"]},              // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_register.version
		{"register.version size", registerVerSize, cMaxKeySize},    // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_register.version[HV_KVP_EXCHANGE_MAX_KEY_SIZE]
		{"ip.adapter_id", offAdapt, ip["adapter_id"]},              // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_ipaddr_value.adapter_id
		{"ip.addr_family", offFam, ip["addr_family"]},              // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_ipaddr_value.addr_family
		{"ip.dhcp_enabled", offDHCP, ip["dhcp_enabled"]},           // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_ipaddr_value.dhcp_enabled
		{"ip.ip_addr", offIP, ip["ip_addr"]},                       // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_ipaddr_value.ip_addr
		{"ip.sub_net", offSub, ip["sub_net"]},                      // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_ipaddr_value.sub_net
		{"ip.gate_way", offGW, ip["gate_way"]},                     // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_ipaddr_value.gate_way
		{"ip.dns_addr", offDNS, ip["dns_addr"]},                    // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_ipaddr_value.dns_addr
		{"ip end", ipEnd, MsgSize},                                 // sys/dev/hyperv/utilities/hv_kvp.h, hv_kvp_ipaddr_value is the largest body
		{"key field", MaxKeySize, cMaxKeySize},                     // sys/dev/hyperv/utilities/hv_kvp.h, HV_KVP_EXCHANGE_MAX_KEY_SIZE
		{"value field", MaxValueSize, cMaxValueSize},               // sys/dev/hyperv/utilities/hv_kvp.h, HV_KVP_EXCHANGE_MAX_VALUE_SIZE
		{"adapter_id field", adapterIDSize, 2 * cMaxAdapterID},     // sys/dev/hyperv/utilities/hv_kvp.h, MAX_ADAPTER_ID_SIZE
		{"ip_addr field", ipAddrSize, 2 * cMaxIPAddr},              // sys/dev/hyperv/utilities/hv_kvp.h, MAX_IP_ADDR_SIZE
		{"sub_net field", subnetSize, 2 * cMaxIPAddr},              // sys/dev/hyperv/utilities/hv_kvp.h, MAX_IP_ADDR_SIZE
		{"gate_way field", gatewaySize, 2 * cMaxGateway},           // sys/dev/hyperv/utilities/hv_kvp.h, MAX_GATEWAY_SIZE
		{"dns_addr field", dnsAddrSize, 2 * cMaxIPAddr},            // sys/dev/hyperv/utilities/hv_kvp.h, MAX_IP_ADDR_SIZE
		// sys/dev/hyperv/utilities/hv_kvp.c, hv_kvp_convert_usermsg_to_hostmsg: utf8_to_utf16(..., MAX/2 - 2, ...)
		{"host key limit", HostKeyLimit, cMaxKeySize/2 - 2},
		{"host value limit", HostValueLimit, cMaxValueSize/2 - 2},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}

	// The encoder puts the fields where the C layout says.
	le := binary.LittleEndian
	b, err := EncodeRequest(Msg{Op: OpEnumerate, Pool: PoolGuest, Index: 7, KV: KeyValue{Key: "k", Value: "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 3 || b[1] != 1 || le.Uint32(b[enum["index"]:]) != 7 || le.Uint32(b[enum["value_type"]:]) != 1 ||
		le.Uint32(b[enum["key_size"]:]) != 2 || le.Uint32(b[enum["value_size"]:]) != 2 ||
		!bytes.Equal(b[enum["key"]:enum["key"]+2], []byte("k\x00")) || !bytes.Equal(b[enum["value"]:enum["value"]+2], []byte("v\x00")) {
		t.Errorf("ENUMERATE request not laid out as struct hv_kvp_msg_enumerate")
	}
	b, err = EncodeRequest(Msg{Op: OpSetIPInfo, IP: IPInfo{AdapterID: "hn0", AddrFamily: 3, DHCPEnabled: 1, IPAddr: "a", SubNet: "s", Gateway: "g", DNSAddr: "d"}})
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{"adapter_id": "hn0\x00", "ip_addr": "a\x00", "sub_net": "s\x00", "gate_way": "g\x00", "dns_addr": "d\x00"} {
		if got := b[ip[field] : ip[field]+len(want)]; string(got) != want {
			t.Errorf("SET_IP_INFO %s: %q, want %q", field, got, want)
		}
	}
	if b[ip["addr_family"]] != 3 || b[ip["dhcp_enabled"]] != 1 {
		t.Errorf("SET_IP_INFO addr_family/dhcp_enabled: %d/%d", b[ip["addr_family"]], b[ip["dhcp_enabled"]])
	}
	r := EncodeRegister("v1")
	if r[0] != 4 || string(r[reg["version"]:reg["version"]+3]) != "v1\x00" {
		t.Errorf("REGISTER: op %d, version %q", r[0], r[reg["version"]:reg["version"]+3])
	}
}

func TestContractCodes(t *testing.T) {
	tests := []struct {
		name      string
		got, want uint64
	}{
		{"HV_KVP_OP_GET", uint64(OpGet), 0},                // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_op
		{"HV_KVP_OP_SET", uint64(OpSet), 1},                // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_op
		{"HV_KVP_OP_DELETE", uint64(OpDelete), 2},          // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_op
		{"HV_KVP_OP_ENUMERATE", uint64(OpEnumerate), 3},    // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_op
		{"HV_KVP_OP_GET_IP_INFO", uint64(OpGetIPInfo), 4},  // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_op
		{"HV_KVP_OP_SET_IP_INFO", uint64(OpSetIPInfo), 5},  // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_op
		{"HV_KVP_OP_REGISTER", uint64(OpRegister), 4},      // sys/dev/hyperv/utilities/hv_kvp.h, HV_KVP_OP_REGISTER
		{"HV_KVP_POOL_EXTERNAL", PoolExternal, 0},          // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_pool
		{"HV_KVP_POOL_GUEST", PoolGuest, 1},                // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_pool
		{"HV_KVP_POOL_AUTO", PoolAuto, 2},                  // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_pool
		{"HV_KVP_POOL_AUTO_EXTERNAL", PoolAutoExternal, 3}, // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_pool
		{"HV_KVP_POOL_AUTO_INTERNAL", PoolAutoInternal, 4}, // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_pool
		{"HV_KVP_POOL_COUNT", NumPools, 5},                 // sys/dev/hyperv/utilities/hv_kvp.h, enum hv_kvp_exchg_pool
		{"HV_REG_SZ", RegSZ, 1},                            // sys/dev/hyperv/utilities/hv_kvp.h, HV_REG_SZ
		{"HV_REG_U32", RegU32, 4},                          // sys/dev/hyperv/utilities/hv_kvp.h, HV_REG_U32
		{"HV_REG_U64", RegU64, 8},                          // sys/dev/hyperv/utilities/hv_kvp.h, HV_REG_U64
		// HRESULTs the daemon writes into hdr.error. FreeBSD's
		// sys/dev/hyperv/utilities/hv_utilreg.h defines HV_S_OK, HV_E_FAIL
		// and HV_ERROR_NOT_SUPPORTED; the full set, with the same values,
		// is in Linux's include/uapi/linux/hyperv.h.
		{"HV_S_OK", uint64(StatusOK), 0x00000000},                          // sys/dev/hyperv/utilities/hv_utilreg.h, HV_S_OK
		{"HV_E_FAIL", uint64(StatusFail), 0x80004005},                      // sys/dev/hyperv/utilities/hv_utilreg.h, HV_E_FAIL
		{"HV_ERROR_NOT_SUPPORTED", uint64(StatusNotSupported), 0x80070032}, // sys/dev/hyperv/utilities/hv_utilreg.h, HV_ERROR_NOT_SUPPORTED
		{"HV_S_CONT", uint64(StatusCont), 0x80070103},                      // include/uapi/linux/hyperv.h, HV_S_CONT
		{"HV_INVALIDARG", uint64(StatusInvalidArg), 0x80070057},            // include/uapi/linux/hyperv.h, HV_INVALIDARG
		{"HV_GUID_NOTFOUND", uint64(StatusGUIDNotFound), 0x80041002},       // include/uapi/linux/hyperv.h, HV_GUID_NOTFOUND
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	// The reply status overwrites the whole 4-byte header, little-endian
	// (sys/dev/hyperv/utilities/hv_kvp.h, union hdr { struct hv_kvp_hdr kvp_hdr; uint32_t error; }).
	b, err := EncodeReply(Msg{Op: OpGet}, StatusCont, Msg{})
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(b[0:cHdr]); got != 0x80070103 {
		t.Errorf("reply header %#x, want HV_S_CONT", got)
	}
}
