package kvp

import "testing"

func TestFactsMajorMinor(t *testing.T) {
	tests := []struct {
		release, major, minor string
	}{
		{"14.2-RELEASE-p1", "14", "2"},
		{"15.0-CURRENT", "15", "0"},
		{"6.18.44", "6", "18"},
		{"6.8.0-45-generic", "6", "8"},
		{"14", "14", ""},
		{"14.x-STABLE", "14", ""},
		{"weird", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		f := Facts{OSRelease: tt.release}
		for key, want := range map[string]string{"OSMajorVersion": tt.major, "OSMinorVersion": tt.minor} {
			got, ok := f.autoValue(key, nil)
			if !ok || got != want {
				t.Errorf("%q: %s = %q, %v; want %q", tt.release, key, got, ok, want)
			}
		}
	}
}
