package vss

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hvagent/hvagent/vss/vsstest"
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
// the layout of struct hv_vss_opt_msg in hv_snapshot.h, without this
// package's code.
var goldens = []struct {
	file string
	want Msg
}{
	{"check_request.bin", Msg{Op: OpCheck, MsgID: 0x0102030405060708}},
	{"freeze_request.bin", Msg{Op: OpFreeze, MsgID: 42}},
	{"thaw_request.bin", Msg{Op: OpThaw, MsgID: 0xFFFFFFFFFFFFFFFE}},
	{"freeze_reply_fail.bin", Msg{Op: OpFreeze, Status: StatusFailure, MsgID: 42}},
	{"timed_out_request.bin", Msg{Status: StatusFailure}}, // zero-filled: opt 0, msgid 0
}

func TestGolden(t *testing.T) {
	for _, tt := range goldens {
		t.Run(tt.file, func(t *testing.T) {
			b := golden(t, tt.file)
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Decode (-want +got):\n-%+v\n+%+v", tt.want, got)
			}
			if enc := tt.want.Encode(); !bytes.Equal(enc, b) {
				t.Fatalf("Encode differs from golden:\n got %x\nwant %x", enc, b)
			}
		})
	}
}

func TestReplyKeepsMsgID(t *testing.T) {
	req := Msg{Op: OpFreeze, MsgID: 42}
	got := Reply(req, StatusFailure).Encode()
	if want := golden(t, "freeze_reply_fail.bin"); !bytes.Equal(got, want) {
		t.Fatalf("reply %x, want %x", got, want)
	}
}

// The simulated kernel's zero-filled read is the golden one.
func TestTimedOutReadGolden(t *testing.T) {
	if got, want := vsstest.TimedOutRead(), golden(t, "timed_out_request.bin"); !bytes.Equal(got, want) {
		t.Fatalf("vsstest.TimedOutRead = %x, want %x", got, want)
	}
}

func TestDecodeWrongSize(t *testing.T) {
	for _, n := range []int{0, 1, 63, 65, 7430} {
		if _, err := Decode(make([]byte, n)); err == nil {
			t.Errorf("Decode of %d bytes: no error", n)
		}
	}
}

func TestOpString(t *testing.T) {
	for op, want := range map[Op]string{OpCheck: "check", OpFreeze: "freeze", OpThaw: "thaw", 0: "unknown", 9: "unknown"} {
		if got := op.String(); got != want {
			t.Errorf("Op(%d).String() = %q, want %q", op, got, want)
		}
	}
}

// TestSpecConstants checks the wire and ioctl constants against the
// numbers FreeBSD's headers give (hv_snapshot.h, sys/ufs/ffs/fs.h) and
// Linux's include/uapi/linux/fs.h for FIFREEZE/FITHAW.
func TestSpecConstants(t *testing.T) {
	tests := []struct {
		name      string
		got, want uint64
	}{
		{"MsgSize", MsgSize, 64},
		{"CHECK", uint64(OpCheck), 1},
		{"FREEZE", uint64(OpFreeze), 2},
		{"THAW", uint64(OpThaw), 3},
		{"IOCHVVSSREAD", uint64(iocHVVSSRead), 0x40407602},
		{"IOCHVVSSWRITE", uint64(iocHVVSSWrite), 0x80407603},
		{"UFSSUSPEND", uint64(iocUFSSuspend), 0x80085501},
		{"UFSRESUME", uint64(iocUFSResume), 0x20005502},
		{"FIFREEZE", uint64(linuxFIFreeze), 0xC0045877},
		{"FITHAW", uint64(linuxFIThaw), 0xC0045878},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, g := range goldens {
		f.Add(golden(f, g.file))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// Encode zeroes the reserved bytes; everything else round-trips.
		want := append(append([]byte{}, b[:16]...), make([]byte, 48)...)
		if got := m.Encode(); !bytes.Equal(got, want) {
			t.Fatalf("round trip: got %x, want %x", got, want)
		}
	})
}
