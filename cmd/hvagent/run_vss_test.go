package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestVSSFlags(t *testing.T) {
	f, err := parseDaemonFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if f.vss.device != "/dev/hv_fsvss_dev" || f.vss.hooksDir != "/usr/local/etc/hvagent/vss.d" ||
		f.vss.maxFrozen != time.Minute || f.vss.zfs != "sync" || f.vss.include != nil || f.vss.exclude != nil {
		t.Errorf("defaults differ from hvagent(8): %+v", f.vss)
	}
	tests := []struct {
		args []string
		err  string // "" for valid
	}{
		{[]string{"--vss.zfs", "fail", "--vss.max-frozen", "2m", "--vss.include", "/,/var", "--vss.exclude", "/jail/*"}, ""},
		{[]string{"--vss.zfs", "freeze"}, "-vss.zfs"},
		{[]string{"--vss.max-frozen", "0s"}, "-vss.max-frozen"},
		{[]string{"--vss.max-frozen", "1h"}, ""},
		{[]string{"--vss.max-frozen", "1h1s"}, "-vss.max-frozen"},
		{[]string{"--vss.include", "var"}, "-vss.include"},
		{[]string{"--vss.exclude", "/[x"}, "-vss.exclude"},
	}
	for _, tt := range tests {
		_, err := parseDaemonFlags(tt.args, io.Discard)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%q: %v", tt.args, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want one about %s", tt.args, err, tt.err)
		}
	}
}
