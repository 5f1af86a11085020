package kvp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The golden files come from testdata/golden/gen.py, which builds them from
// the offsets of struct hv_kvp_msg in FreeBSD's
// sys/dev/hyperv/utilities/hv_kvp.h, without this package's code.
var requestGoldens = []struct {
	file string
	want Msg
}{
	{"set_request.bin", Msg{Op: OpSet, Pool: 3, KV: KeyValue{ValueType: RegSZ, Key: "VirtualMachineName", Value: "vm-01 ünïcode"}}},
	{"get_request.bin", Msg{Op: OpGet, Pool: 0, KV: KeyValue{ValueType: RegSZ, Key: "BackupWindow"}}},
	{"enumerate_request.bin", Msg{Op: OpEnumerate, Pool: 2, Index: 7}},
	{"delete_request.bin", Msg{Op: OpDelete, Pool: 1, KV: KeyValue{Key: "CLOUD_INIT|1"}}},
	{"get_ip_info_request.bin", Msg{Op: OpGetIPInfo, IP: IPInfo{AdapterID: "00:15:5D:01:02:03"}}},
	{"set_ip_info_request.bin", Msg{Op: OpSetIPInfo, IP: IPInfo{
		AdapterID: "hn0", AddrFamily: 3, IPAddr: "192.0.2.10;2001:db8::10", SubNet: "255.255.255.0;/64",
		Gateway: "192.0.2.1;2001:db8::1", DNSAddr: "192.0.2.53",
	}}},
}

func TestDecodeRequestGolden(t *testing.T) {
	for _, tt := range requestGoldens {
		t.Run(tt.file, func(t *testing.T) {
			b := golden(t, tt.file)
			got, err := DecodeRequest(b)
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeRequest mismatch (-want +got):\n-%+v\n+%+v", tt.want, got)
			}
			enc, err := EncodeRequest(tt.want)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			if !bytes.Equal(enc, b) {
				t.Fatalf("EncodeRequest differs from golden at byte %d", firstDiff(enc, b))
			}
		})
	}
}

func TestEncodeReplyGolden(t *testing.T) {
	tests := []struct {
		file   string
		req    Msg
		status Status
		body   Msg
	}{
		{"enumerate_reply.bin", Msg{Op: OpEnumerate, Pool: 2, Index: 7}, StatusOK,
			Msg{Index: 7, KV: KeyValue{ValueType: RegSZ, Key: "OSMinorVersion", Value: "2"}}},
		{"get_reply_cont.bin", Msg{Op: OpGet, Pool: 0}, StatusCont, Msg{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want := golden(t, tt.file)
			got, err := EncodeReply(tt.req, tt.status, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("EncodeReply differs from golden at byte %d", firstDiff(got, want))
			}
			dec, err := DecodeReply(want, tt.req.Op)
			if err != nil {
				t.Fatal(err)
			}
			if dec.Status != tt.status {
				t.Fatalf("DecodeReply status = %v, want %v", dec.Status, tt.status)
			}
		})
	}
}

func TestEncodeRegisterGolden(t *testing.T) {
	if got, want := EncodeRegister("0.1.0"), golden(t, "register.bin"); !bytes.Equal(got, want) {
		t.Fatalf("EncodeRegister differs from golden at byte %d", firstDiff(got, want))
	}
	if !IsRegister(golden(t, "register.bin")) {
		t.Fatal("IsRegister(register.bin) = false")
	}
}

func TestDecodeRequestMalformed(t *testing.T) {
	set := golden(t, "set_request.bin")
	mutate := func(f func(b []byte)) []byte {
		b := bytes.Clone(set)
		f(b)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"short", set[:100], errSize},
		{"long", append(bytes.Clone(set), 0), errSize},
		{"key without NUL", mutate(func(b []byte) { copy(b[16:16+512], bytes.Repeat([]byte("k"), 512)) }), errNoNUL},
		{"key_size past field", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 513) }), errSizeField},
		{"value_size past field", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[12:], 1<<31) }), errSizeField},
		{"value without NUL", mutate(func(b []byte) { copy(b[528:528+2048], bytes.Repeat([]byte("v"), 2048)) }), errNoNUL},
		{"invalid UTF-8 key", mutate(func(b []byte) { b[16] = 0xff }), errInvalidUTF8},
		{"delete key_size past field", mutate(func(b []byte) { b[0] = byte(OpDelete); binary.LittleEndian.PutUint32(b[4:], 9999) }), errSizeField},
		{"ip field without NUL", mutate(func(b []byte) { b[0] = byte(OpSetIPInfo); copy(b[4:260], bytes.Repeat([]byte("a"), 256)) }), errNoNUL},
		{"get_ip_info adapter without NUL", mutate(func(b []byte) { b[0] = byte(OpGetIPInfo); copy(b[4:260], bytes.Repeat([]byte("a"), 256)) }), errNoNUL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest(tt.in)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeRequest error = %v, want %v", err, tt.want)
			}
		})
	}
}

// Fields only the reply fills are not validated in a request: leftovers
// there must not turn an ENUMERATE or GET_IP_INFO into HV_INVALIDARG.
func TestDecodeRequestIgnoresOutputFields(t *testing.T) {
	enum := bytes.Clone(golden(t, "enumerate_request.bin"))
	copy(enum[20:20+512], bytes.Repeat([]byte{0xff}, 512)) // key: no NUL, not UTF-8
	if m, err := DecodeRequest(enum); err != nil || m.Index != 7 {
		t.Fatalf("ENUMERATE with garbage in its key field: %+v, %v", m, err)
	}
	ip := bytes.Clone(golden(t, "get_ip_info_request.bin"))
	copy(ip[262:262+2048], bytes.Repeat([]byte("x"), 2048)) // ip_addr: no NUL
	if m, err := DecodeRequest(ip); err != nil || m.IP.AdapterID != "00:15:5D:01:02:03" {
		t.Fatalf("GET_IP_INFO with garbage in ip_addr: %+v, %v", m, err)
	}
}

func TestEncodeRefusesOverlong(t *testing.T) {
	_, err := EncodeRequest(Msg{Op: OpSet, KV: KeyValue{Key: strings.Repeat("k", MaxKeySize)}})
	if err == nil {
		t.Fatal("512-byte key encoded; it leaves no room for the NUL")
	}
	if _, err := EncodeRequest(Msg{Op: OpSet, KV: KeyValue{Key: strings.Repeat("k", MaxKeySize-1)}}); err != nil {
		t.Fatalf("511-byte key: %v", err)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func seedGoldens(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "golden"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".bin") {
			f.Add(golden(f, e.Name()))
		}
	}
}

// FuzzDecodeRequest: decoding never panics, and whatever decodes survives
// encode -> decode unchanged.
func FuzzDecodeRequest(f *testing.F) {
	seedGoldens(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeRequest(b)
		if err != nil {
			return
		}
		enc, err := EncodeRequest(m)
		if err != nil {
			t.Fatalf("decoded message does not re-encode: %v", err)
		}
		m2, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if m.Op.Known() && !reflect.DeepEqual(normalize(m), normalize(m2)) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
	})
}

// FuzzDecodeReply: the simulated kernel's reply decoder never panics and
// round-trips through EncodeReply.
func FuzzDecodeReply(f *testing.F) {
	seedGoldens(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != MsgSize {
			b = append(b, make([]byte, max(0, MsgSize-len(b)))...)[:MsgSize]
		}
		op := Op(b[1] % 6)
		m, err := DecodeReply(b, op)
		if err != nil {
			return
		}
		if m.Status != StatusOK {
			// Only a successful reply carries a body.
			m = Msg{Op: op, Status: m.Status}
		}
		enc, err := EncodeReply(Msg{Op: op}, m.Status, m)
		if err != nil {
			t.Fatalf("decoded reply does not re-encode: %v", err)
		}
		m2, err := DecodeReply(enc, op)
		if err != nil || !reflect.DeepEqual(normalize(m), normalize(m2)) {
			t.Fatalf("round trip changed the reply (err %v):\n%+v\n%+v", err, m, m2)
		}
	})
}

// normalize clears what encoding legitimately fills in: a zero value type
// is sent as REG_SZ.
func normalize(m Msg) Msg {
	if m.KV.ValueType == 0 {
		m.KV.ValueType = RegSZ
	}
	return m
}
