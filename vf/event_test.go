package vf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		line    string
		want    Event
		wantErr error
	}{
		{"!system=IFNET subsystem=mce0 type=DETACH\n", Event{System: "IFNET", Subsystem: "mce0", Type: "DETACH"}, nil},
		{"!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP", Event{System: "HYPERV_NIC_VF", Subsystem: "hn0", Type: "VF_UP"}, nil},
		{"!system=ETHERNET subsystem=mce0 type=IFATTACH\x00", Event{System: "ETHERNET", Subsystem: "mce0", Type: "IFATTACH"}, nil},
		{"!system=IFNET subsystem=hn0 type=LINK_UP timestamp=1800000000.5", Event{System: "IFNET", Subsystem: "hn0", Type: "LINK_UP", At: time.Unix(1800000000, 500000000)}, nil},
		{"!system=ACPI subsystem=ACAD type=\\_SB_.AC notify=0x01", Event{System: "ACPI", Subsystem: "ACAD", Type: "\\_SB_.AC", Data: map[string]string{"notify": "0x01"}}, nil},
		{"+mce0 at pci0", Event{}, ErrNotNotify},
		{"-mce0 at pci0", Event{}, ErrNotNotify},
		{"?at pci0", Event{}, ErrNotNotify},
		{"", Event{}, ErrMalformed},
		{"\n", Event{}, ErrMalformed},
		{"system=IFNET subsystem=hn0 type=X", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X junk", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X =v", Event{}, ErrMalformed},
		{"!system=IFNET sub\x00system=hn0 type=X", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X \xff", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X timestamp=-1", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X timestamp=1.x", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X" + strings.Repeat(" a=b", 20), Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=" + strings.Repeat("X", MaxLine), Event{}, ErrMalformed},
	}
	for _, tt := range tests {
		got, err := ParseEvent([]byte(tt.line))
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("ParseEvent(%q) error = %v, want %v", tt.line, err, tt.wantErr)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseEvent(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

// FuzzParseEvent: no input panics, every accepted line formats back to
// a line that parses to the same event, and the work is bounded.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		"!system=IFNET subsystem=mce0 type=DETACH\n",
		"!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP timestamp=1800000000.000000001",
		"!system=ACPI subsystem=ACAD type=X notify=0x01",
		"+mce0 at pci0", "", "!a=b", "!system=\x00",
		strings.Repeat("!system=IFNET ", 100),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEvent(b)
		if err != nil {
			return
		}
		again, err := ParseEvent([]byte(e.String()))
		if err != nil {
			t.Fatalf("%q parsed, but its formatting %q does not: %v", b, e.String(), err)
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("round trip changed %+v into %+v", e, again)
		}
	})
}

func TestValidIfName(t *testing.T) {
	for name, want := range map[string]bool{
		"hn0": true, "mce12": true, "mlxen0": true, "mana0": true, "lagg0": true,
		"": false, "hn": false, "0": false, "hn01": false, "HN0": false, "hn0;": false,
		"../etc": false, "hn-1": false, "abcdefghijklmn0": true, "abcdefghijklmno0": false,
	} {
		if got := ValidIfName(name); got != want {
			t.Errorf("ValidIfName(%q) = %v, want %v", name, got, want)
		}
	}
}
