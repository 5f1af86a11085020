package fbsdnet

import "testing"

func TestSplit(t *testing.T) {
	tests := []struct{ name, drv, unit string }{
		{"hn12", "hn", "12"}, {"mlxen0", "mlxen", "0"}, {"lagg3", "lagg", "3"},
		{"hn", "", ""}, {"0", "", ""}, {"", "", ""}, {"em0.100", "em0.", "100"},
	}
	for _, tt := range tests {
		drv, unit, ok := Split(tt.name)
		if drv != tt.drv || unit != tt.unit || ok != (tt.drv != "") {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q", tt.name, drv, unit, ok, tt.drv, tt.unit)
		}
	}
	if n, ok := Unit("hn3"); n != 3 || !ok {
		t.Errorf("Unit(hn3) = %d, %v", n, ok)
	}
	if _, ok := Unit("hn"); ok {
		t.Error("Unit(hn) ok")
	}
}

func TestValidNameAndIsHN(t *testing.T) {
	for name, want := range map[string][2]bool{ // ValidName, IsHN
		"hn0": {true, true}, "hn12": {true, true}, "mce12": {true, false}, "mlxen0": {true, false},
		"mana0": {true, false}, "lagg0": {true, false}, "": {false, false}, "hn": {false, false},
		"0": {false, false}, "hn01": {false, false}, "HN0": {false, false}, "hn0;": {false, false},
		"../etc": {false, false}, "hn-1": {false, false}, "hnx0": {true, false},
		"abcdefghijklmn0": {true, false}, "abcdefghijklmno0": {false, false},
	} {
		if v, h := ValidName(name), IsHN(name); v != want[0] || h != want[1] {
			t.Errorf("%q: ValidName %v, IsHN %v; want %v, %v", name, v, h, want[0], want[1])
		}
	}
}

// TestLagg pins hyperv_vfup's naming (contrib/hyperv/tools/scripts/
// hyperv_vfup: hn_unit is hnN's digits, lagg=lagg$hn_unit) both ways.
func TestLagg(t *testing.T) {
	for hn, want := range map[string]string{"hn0": "lagg0", "hn12": "lagg12", "mce0": "", "hn": "", "lagg0": ""} {
		got, ok := Lagg(hn)
		if got != want || ok != (want != "") {
			t.Errorf("Lagg(%q) = %q, %v; want %q", hn, got, ok, want)
		}
		if ok {
			if back, ok := HNOfLagg(got); !ok || back != hn {
				t.Errorf("HNOfLagg(%q) = %q, %v; want %q", got, back, ok, hn)
			}
		}
	}
	if _, ok := HNOfLagg("hn0"); ok {
		t.Error("HNOfLagg(hn0) ok")
	}
}

func TestIsVFDriver(t *testing.T) {
	for name, want := range map[string]bool{"mce0": true, "mlxen1": true, "mana0": true, "hn0": false, "lagg0": false, "mce": false, "xmce0": false} {
		if got := IsVFDriver(name); got != want {
			t.Errorf("IsVFDriver(%q) = %v, want %v", name, got, want)
		}
	}
}
