package kvp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// MsgSize is sizeof(struct hv_kvp_msg) on FreeBSD: a packed 4-byte header
// and a 7426-byte body union (sys/dev/hyperv/utilities/hv_kvp.h).
const MsgSize = 7430

// Field sizes of the message body (HV_KVP_EXCHANGE_MAX_KEY_SIZE and friends,
// sys/dev/hyperv/utilities/hv_kvp.h).
const (
	MaxKeySize      = 512
	MaxValueSize    = 2048
	adapterIDSize   = 256
	ipAddrSize      = 2048
	subnetSize      = 2048
	gatewaySize     = 1024
	dnsAddrSize     = 2048
	registerVerSize = 512
)

// HostKeyLimit and HostValueLimit are the longest strings, in UTF-16 code
// units, that the FreeBSD kernel converts back to the host (it copies at
// most MAX/2-2 units); anything longer reaches the host truncated.
const (
	HostKeyLimit   = MaxKeySize/2 - 2
	HostValueLimit = MaxValueSize/2 - 2
)

// Op is a KVP operation code (enum hv_kvp_exchg_op).
type Op uint8

// Operations. OpRegister shares its value with OpGetIPInfo: it is only
// meaningful as the first message the daemon writes.
const (
	OpGet       Op = 0
	OpSet       Op = 1
	OpDelete    Op = 2
	OpEnumerate Op = 3
	OpGetIPInfo Op = 4
	OpSetIPInfo Op = 5
	OpRegister  Op = 4
)

var opNames = [...]string{"get", "set", "delete", "enumerate", "get_ip_info", "set_ip_info"}

// String returns the lower-case name used in logs and metric labels.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "unknown"
}

// Known reports whether o is one of the six host operations.
func (o Op) Known() bool { return int(o) < len(opNames) }

// Pool numbers (enum hv_kvp_exchg_pool).
const (
	PoolExternal     = 0
	PoolGuest        = 1
	PoolAuto         = 2
	PoolAutoExternal = 3
	PoolAutoInternal = 4
	NumPools         = 5
)

var poolNames = [NumPools]string{"external", "guest", "auto", "auto_external", "auto_internal"}

// PoolName returns the name of pool n, or "invalid".
func PoolName(n int) string {
	if n >= 0 && n < NumPools {
		return poolNames[n]
	}
	return "invalid"
}

// ParsePool accepts a pool number (0-4) or name.
func ParsePool(s string) (int, error) {
	for i, name := range poolNames {
		if s == name || s == fmt.Sprint(i) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown pool %q (want 0-4 or external, guest, auto, auto_external, auto_internal)", s)
}

// Status is the reply status the daemon writes over the first four bytes.
type Status uint32

// Reply status codes (HRESULTs: sys/dev/hyperv/utilities/hv_utilreg.h
// defines HV_S_OK, HV_E_FAIL and HV_ERROR_NOT_SUPPORTED; Linux's
// include/uapi/linux/hyperv.h all six, with the same values).
const (
	StatusOK           Status = 0
	StatusFail         Status = 0x80004005
	StatusCont         Status = 0x80070103
	StatusInvalidArg   Status = 0x80070057
	StatusGUIDNotFound Status = 0x80041002
	StatusNotSupported Status = 0x80070032
)

// String returns the symbolic name of s.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "HV_S_OK"
	case StatusFail:
		return "HV_E_FAIL"
	case StatusCont:
		return "HV_S_CONT"
	case StatusInvalidArg:
		return "HV_INVALIDARG"
	case StatusGUIDNotFound:
		return "HV_GUID_NOTFOUND"
	case StatusNotSupported:
		return "HV_ERROR_NOT_SUPPORTED"
	}
	return fmt.Sprintf("0x%08x", uint32(s))
}

// Value types (HV_REG_*). The kernel renders numbers as decimal strings
// before the daemon sees them.
const (
	RegSZ  = 1
	RegU32 = 4
	RegU64 = 8
)

// Offsets inside the 7430-byte message (struct hv_kvp_msg in FreeBSD's
// sys/dev/hyperv/utilities/hv_kvp.h).
const (
	offOp    = 0
	offPool  = 1
	offBody  = 4
	offVType = 4 // GET/SET
	offKSize = 8
	offVSize = 12
	offKey   = 16
	offValue = 528
	offIndex = 4 // ENUMERATE: index, then the GET/SET block shifted by 4
	enumOff  = 4
	offDelKS = 4 // DELETE: key_size, key
	offDelK  = 8
	offAdapt = 4 // IP info
	offFam   = 260
	offDHCP  = 261
	offIP    = 262
	offSub   = 2310
	offGW    = 4358
	offDNS   = 5382
)

// KeyValue is the body of GET, SET and ENUMERATE.
type KeyValue struct {
	ValueType uint32
	Key       string
	Value     string
}

// IPInfo is the body of GET_IP_INFO and SET_IP_INFO (hv_kvp_ipaddr_value).
type IPInfo struct {
	AdapterID   string
	AddrFamily  uint8
	DHCPEnabled uint8
	IPAddr      string
	SubNet      string
	Gateway     string
	DNSAddr     string
}

// Msg is a decoded hv_kvp_msg. Only the body that Op selects is meaningful.
// A request carries Op and Pool; a reply carries Status in their place.
type Msg struct {
	Op     Op
	Pool   uint8
	Status Status // replies only

	KV    KeyValue // GET, SET, ENUMERATE
	Index uint32   // ENUMERATE
	IP    IPInfo   // GET_IP_INFO, SET_IP_INFO
	// Version is the REGISTER body; FreeBSD's kernel ignores it.
	Version string
}

// Decoding errors. They wrap ErrMalformed so callers can classify them.
var (
	ErrMalformed   = errors.New("malformed kvp message")
	errSize        = fmt.Errorf("%w: wrong size", ErrMalformed)
	errNoNUL       = fmt.Errorf("%w: string not NUL-terminated within its field", ErrMalformed)
	errSizeField   = fmt.Errorf("%w: size field past the end of its field", ErrMalformed)
	errInvalidUTF8 = fmt.Errorf("%w: string is not valid UTF-8", ErrMalformed)
)

// cstring returns the NUL-terminated string at the start of field. A field
// without a NUL is malformed: the C daemon would read past it.
func cstring(field []byte) (string, error) {
	b, err := cbytes(field)
	return string(b), err
}

// cbytes is cstring without the copy: the string's bytes, in field.
func cbytes(field []byte) ([]byte, error) {
	i := bytes.IndexByte(field, 0)
	if i < 0 {
		return nil, errNoNUL
	}
	if !utf8.Valid(field[:i]) {
		return nil, errInvalidUTF8
	}
	return field[:i], nil
}

// sized decodes a string field with a companion size that counts the
// terminating NUL. The size is advisory: it must not claim more than the
// field holds, and the string ends at the first NUL regardless.
func sized(field []byte, size uint32) (string, error) {
	b, err := sizedBytes(field, size)
	return string(b), err
}

// sizedBytes is sized without the copy.
func sizedBytes(field []byte, size uint32) ([]byte, error) {
	if size > uint32(len(field)) {
		return nil, errSizeField
	}
	return cbytes(field)
}

func putString(field []byte, s string) {
	clear(field)
	n := copy(field[:len(field)-1], s)
	field[n] = 0
}

// Fits reports whether s fits a field of n bytes with its NUL.
func fits(s string, n int) bool { return len(s) < n }

// DecodeRequest parses a request the kernel hands the daemon. It fails on
// anything the daemon must not act on; the caller replies HV_E_FAIL or
// HV_INVALIDARG depending on the error. Unknown operations and pools decode
// successfully: they are answered with the status hvagent(8) gives in REPLY STATUS, not
// dropped.
func DecodeRequest(b []byte) (Msg, error) { return FreeBSD.DecodeRequest(b) }

// DecodeRequest is DecodeRequest for p's message size.
func (p Protocol) DecodeRequest(b []byte) (Msg, error) {
	if len(b) != p.MsgSize() {
		return Msg{}, fmt.Errorf("%w (%d bytes, want %d)", errSize, len(b), p.MsgSize())
	}
	m := Msg{Op: Op(b[offOp]), Pool: b[offPool]}
	if err := decodeBody(b, &m, true); err != nil {
		return Msg{}, fmt.Errorf("%s: %w", m.Op, err)
	}
	return m, nil
}

// decodeBody fills the body that m.Op selects; unknown operations have none.
// In a request, fields only the reply fills (the key and value of an
// ENUMERATE, everything but adapter_id of a GET_IP_INFO) are not read:
// whatever the kernel left there must not fail the request.
func decodeBody(b []byte, m *Msg, request bool) error {
	le := binary.LittleEndian
	var err error
	switch {
	case request && m.Op == OpEnumerate:
		m.Index = le.Uint32(b[offIndex:])
		return nil
	case request && m.Op == OpGetIPInfo:
		m.IP.AdapterID, err = cstring(b[offAdapt : offAdapt+adapterIDSize])
		if err != nil {
			return fmt.Errorf("adapter_id: %w", err)
		}
		return nil
	}
	switch m.Op {
	case OpGet, OpSet:
		m.KV, err = decodeKV(b[offVType:])
	case OpEnumerate:
		m.Index = le.Uint32(b[offIndex:])
		m.KV, err = decodeKV(b[offVType+enumOff:])
	case OpDelete:
		m.KV.Key, err = sized(b[offDelK:offDelK+MaxKeySize], le.Uint32(b[offDelKS:]))
	case OpGetIPInfo, OpSetIPInfo:
		m.IP, err = decodeIP(b)
	}
	return err
}

// decodeKV reads the GET/SET block starting at its value_type field.
// For GET the value field is output-only, so its contents are not
// validated; callers that need the value (SET) get it checked here too.
func decodeKV(b []byte) (KeyValue, error) {
	kv := KeyValue{ValueType: binary.LittleEndian.Uint32(b[0:])}
	key, value, err := kvBytes(b)
	kv.Key = string(key)
	if err == nil {
		kv.Value = string(value)
	}
	return kv, err
}

// kvBytes checks the GET/SET block starting at its value_type field as
// decodeKV does and returns its key and value as views of b, copying
// nothing: the read path's decoder (Service.read). On error the key is
// what could be decoded before it.
func kvBytes(b []byte) (key, value []byte, err error) {
	le := binary.LittleEndian
	ks, vs := le.Uint32(b[4:]), le.Uint32(b[8:])
	key, err = sizedBytes(b[12:12+MaxKeySize], ks)
	if err != nil {
		return nil, nil, fmt.Errorf("key: %w", err)
	}
	vfield := b[12+MaxKeySize : 12+MaxKeySize+MaxValueSize]
	if vs > MaxValueSize {
		return key, nil, fmt.Errorf("value: %w", errSizeField)
	}
	// A GET or ENUMERATE request leaves the value field for the reply;
	// the kernel zeroes it, but tolerate garbage there.
	value, err = cbytes(vfield)
	if err != nil && vs > 0 {
		return key, nil, fmt.Errorf("value: %w", err)
	}
	return key, value, nil
}

func decodeIP(b []byte) (IPInfo, error) {
	var ip IPInfo
	fields := []struct {
		dst  *string
		from int
		size int
		name string
	}{
		{&ip.AdapterID, offAdapt, adapterIDSize, "adapter_id"},
		{&ip.IPAddr, offIP, ipAddrSize, "ip_addr"},
		{&ip.SubNet, offSub, subnetSize, "sub_net"},
		{&ip.Gateway, offGW, gatewaySize, "gate_way"},
		{&ip.DNSAddr, offDNS, dnsAddrSize, "dns_addr"},
	}
	for _, f := range fields {
		s, err := cstring(b[f.from : f.from+f.size])
		if err != nil {
			return ip, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = s
	}
	ip.AddrFamily = b[offFam]
	ip.DHCPEnabled = b[offDHCP]
	return ip, nil
}

// EncodeRequest builds a request the way the kernel hands it to the daemon:
// sizes are the UTF-8 length including the NUL. Used by the simulator and
// tests; strings too long for their field are an error, never truncated.
func EncodeRequest(m Msg) ([]byte, error) { return FreeBSD.EncodeRequest(m) }

// EncodeRequest is EncodeRequest for p: the same layout, p's size (the
// two bytes Linux adds are trailing padding, left zero).
func (p Protocol) EncodeRequest(m Msg) ([]byte, error) {
	b := make([]byte, p.MsgSize())
	b[offOp] = byte(m.Op)
	b[offPool] = m.Pool
	if err := encodeBody(b, &m, m.Op); err != nil {
		return nil, err
	}
	return b, nil
}

// EncodeReply builds the daemon's answer to req. The status overwrites the
// operation and pool bytes, as the kernel expects. Only a successful reply
// carries a body; any other is zeros after the status.
func EncodeReply(req Msg, status Status, body Msg) ([]byte, error) {
	return FreeBSD.EncodeReply(req, status, body)
}

// EncodeReply is EncodeReply for p: on Linux a successful GET carries
// its value where ENUMERATE's is (see replyLayout).
func (p Protocol) EncodeReply(req Msg, status Status, body Msg) ([]byte, error) {
	b := make([]byte, p.MsgSize())
	if err := encodeReply(b, p, req.Op, status, &body); err != nil {
		return nil, err
	}
	return b, nil
}

// encodeReply is EncodeReply into b, which holds p.MsgSize() bytes:
// every byte of it is written, and nothing is allocated.
func encodeReply(b []byte, p Protocol, op Op, status Status, body *Msg) error {
	b = b[:p.MsgSize()]
	clear(b)
	if status == StatusOK {
		if err := encodeBody(b, body, p.replyLayout(op)); err != nil {
			return err
		}
	}
	binary.LittleEndian.PutUint32(b[0:], uint32(status))
	return nil
}

// EncodeRegister builds the REGISTER message the daemon writes first.
func EncodeRegister(version string) []byte { return FreeBSD.EncodeRegister(version) }

// EncodeRegister builds p's registration message: REGISTER (4) on
// FreeBSD, REGISTER1 (100) on Linux. On Linux the kernel's answer has the
// same form, with the kernel's version.
func (p Protocol) EncodeRegister(version string) []byte {
	b := make([]byte, p.MsgSize())
	b[offOp] = byte(p.registerOp())
	putString(b[offBody:offBody+registerVerSize], version)
	return b
}

// IsRegister reports whether b is a REGISTER message (the first write).
func IsRegister(b []byte) bool { return FreeBSD.IsRegister(b) }

// IsRegister reports whether b is p's registration message.
func (p Protocol) IsRegister(b []byte) bool {
	return len(b) == p.MsgSize() && Op(b[offOp]) == p.registerOp()
}

// DecodeReply parses a reply written by the daemon for a request with
// operation op. Used by the simulated kernel.
func DecodeReply(b []byte, op Op) (Msg, error) { return FreeBSD.DecodeReply(b, op) }

// DecodeReply is DecodeReply for p: it reads the fields where p's kernel
// reads them (on Linux, GET's value at ENUMERATE's offset). Op of the
// result is op.
func (p Protocol) DecodeReply(b []byte, op Op) (Msg, error) {
	if len(b) != p.MsgSize() {
		return Msg{}, fmt.Errorf("%w (%d bytes, want %d)", errSize, len(b), p.MsgSize())
	}
	m := Msg{Op: p.replyLayout(op), Status: Status(binary.LittleEndian.Uint32(b[0:]))}
	if err := decodeBody(b, &m, false); err != nil {
		return Msg{}, fmt.Errorf("%s reply: %w", op, err)
	}
	m.Op = op
	if op != OpEnumerate {
		m.Index = 0
	}
	return m, nil
}

func encodeBody(b []byte, m *Msg, op Op) error {
	le := binary.LittleEndian
	switch op {
	case OpGet, OpSet:
		return encodeKV(b[offVType:], &m.KV)
	case OpEnumerate:
		le.PutUint32(b[offIndex:], m.Index)
		return encodeKV(b[offVType+enumOff:], &m.KV)
	case OpDelete:
		if !fits(m.KV.Key, MaxKeySize) {
			return fmt.Errorf("kvp: key of %d bytes does not fit", len(m.KV.Key))
		}
		le.PutUint32(b[offDelKS:], uint32(len(m.KV.Key)+1))
		putString(b[offDelK:offDelK+MaxKeySize], m.KV.Key)
	case OpGetIPInfo, OpSetIPInfo:
		return encodeIP(b, m.IP)
	}
	return nil
}

func encodeKV(b []byte, kv *KeyValue) error {
	if !fits(kv.Key, MaxKeySize) {
		return fmt.Errorf("kvp: key of %d bytes does not fit in %d", len(kv.Key), MaxKeySize)
	}
	if !fits(kv.Value, MaxValueSize) {
		return fmt.Errorf("kvp: value of %d bytes does not fit in %d", len(kv.Value), MaxValueSize)
	}
	le := binary.LittleEndian
	vt := kv.ValueType
	if vt == 0 {
		vt = RegSZ
	}
	le.PutUint32(b[0:], vt)
	le.PutUint32(b[4:], uint32(len(kv.Key)+1))
	le.PutUint32(b[8:], uint32(len(kv.Value)+1))
	putString(b[12:12+MaxKeySize], kv.Key)
	putString(b[12+MaxKeySize:12+MaxKeySize+MaxValueSize], kv.Value)
	return nil
}

func encodeIP(b []byte, ip IPInfo) error {
	fields := []struct {
		s    string
		from int
		size int
		name string
	}{
		{ip.AdapterID, offAdapt, adapterIDSize, "adapter_id"},
		{ip.IPAddr, offIP, ipAddrSize, "ip_addr"},
		{ip.SubNet, offSub, subnetSize, "sub_net"},
		{ip.Gateway, offGW, gatewaySize, "gate_way"},
		{ip.DNSAddr, offDNS, dnsAddrSize, "dns_addr"},
	}
	for _, f := range fields {
		if !fits(f.s, f.size) {
			return fmt.Errorf("kvp: %s of %d bytes does not fit in %d", f.name, len(f.s), f.size)
		}
		putString(b[f.from:f.from+f.size], f.s)
	}
	b[offFam] = ip.AddrFamily
	b[offDHCP] = ip.DHCPEnabled
	return nil
}
