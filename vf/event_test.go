package vf

import (
	"errors"
	"fmt"
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
		{"!system=IFNET subsystem=hn0 type=X junk", Event{System: "IFNET", Subsystem: "hn0", Type: "X"}, nil},
		{"!system=IFNET subsystem=hn0 type=X =v", Event{System: "IFNET", Subsystem: "hn0", Type: "X"}, nil},
		{"!system=IFNET subsystem=hn0 =", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type", Event{}, ErrMalformed},
		{"!system=IFNET sub\x00system=hn0 type=X", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X \xff", Event{System: "IFNET", Subsystem: "hn0", Type: "X"}, nil},
		{"!system=IFNET subsystem=hn0 type=X\tk=v", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X k=\x7f", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X timestamp=-1", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X timestamp=1.x", Event{}, ErrMalformed},
		{"!system=IFNET subsystem=hn0 type=X" + manyPairs(20), Event{System: "IFNET", Subsystem: "hn0", Type: "X", Data: pairs(16)}, nil},
		// Real lines of other systems, which devd relays too.
		{"!system=ZFS subsystem=ZFS type=sysevent.fs.zfs.config_sync version=0 class=sysevent.fs.zfs.config_sync pool=zroot pool_guid=123 time=1800000000 123456789 eid=7 ",
			Event{System: "ZFS", Subsystem: "ZFS", Type: "sysevent.fs.zfs.config_sync", Data: map[string]string{
				"version": "0", "class": "sysevent.fs.zfs.config_sync", "pool": "zroot", "pool_guid": "123", "time": "1800000000", "eid": "7"}}, nil},
		{`!system=USB subsystem=DEVICE type=ATTACH ugen=ugen0.2 product="USB Optical Mouse" sernum="" vendor="Caf\"e \\ Co" port=1`,
			Event{System: "USB", Subsystem: "DEVICE", Type: "ATTACH", Data: map[string]string{
				"ugen": "ugen0.2", "product": "USB Optical Mouse", "sernum": "", "vendor": `Caf"e \ Co`, "port": "1"}}, nil},
		{"!system=USB subsystem=DEVICE type=ATTACH product=\"Souris \xc3\xa9l\xc3\xa9gante\"",
			Event{System: "USB", Subsystem: "DEVICE", Type: "ATTACH", Data: map[string]string{"product": "Souris \u00e9l\u00e9gante"}}, nil},
		{`!system=CAM subsystem=periph type=error device=da0 serial="unterminated`,
			Event{System: "CAM", Subsystem: "periph", Type: "error", Data: map[string]string{"device": "da0", "serial": "unterminated"}}, nil},
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

// manyPairs is n distinct data pairs k0=v0 ...; pairs is the first n.
func manyPairs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " k%d=v%d", i, i)
	}
	return b.String()
}

func pairs(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v%d", i)
	}
	return m
}

// FuzzParseEvent: no input panics, every accepted line formats back to
// a line that parses to the same event, and the work is bounded.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		"!system=IFNET subsystem=mce0 type=DETACH\n",
		"!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP timestamp=1800000000.000000001",
		"!system=ACPI subsystem=ACAD type=X notify=0x01",
		`!system=USB subsystem=DEVICE type=ATTACH product="a \" b" x`,
		"!system=ZFS subsystem=ZFS type=x time=1 2 eid=3",
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

func TestIsHN(t *testing.T) {
	for name, want := range map[string]bool{
		"hn0": true, "hn12": true, "hn": false, "hnx0": false, "hnfoo0": false, "mce0": false, "hn01": false, "lagg0": false,
	} {
		if got := IsHN(name); got != want {
			t.Errorf("IsHN(%q) = %v, want %v", name, got, want)
		}
	}
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
