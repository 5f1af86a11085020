package main

import (
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestVSSFlags(t *testing.T) {
	f, err := parseDaemonFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The device follows the protocol, which follows the system.
	// The hooks directory follows the system: /etc on Linux.
	wantProto, wantDev, wantHooks := "freebsd", "/dev/hv_fsvss_dev", "/usr/local/etc/hvagent/vss.d"
	if runtime.GOOS == "linux" {
		wantProto, wantDev, wantHooks = "linux", "/dev/vmbus/hv_vss", "/etc/hvagent/vss.d"
	}
	if f.vss.protocol.String() != wantProto || f.vss.device != wantDev || f.vss.hooksDir != wantHooks ||
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
	for _, tt := range []struct {
		args          []string
		proto, device string
	}{
		{[]string{"--vss.protocol", "freebsd"}, "freebsd", "/dev/hv_fsvss_dev"},
		{[]string{"--vss.protocol", "linux"}, "linux", "/dev/vmbus/hv_vss"},
		// An explicit device wins, whichever flag comes first.
		{[]string{"--vss.device", "/run/v.sock", "--vss.protocol", "linux"}, "linux", "/run/v.sock"},
		{[]string{"--vss.protocol", "freebsd", "--vss.device", "/run/v.sock"}, "freebsd", "/run/v.sock"},
	} {
		f, err := parseDaemonFlags(tt.args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if f.vss.protocol.String() != tt.proto || f.vss.device != tt.device {
			t.Errorf("%q: protocol %s, device %s; want %s, %s", tt.args, f.vss.protocol, f.vss.device, tt.proto, tt.device)
		}
	}
	tests = append(tests, struct {
		args []string
		err  string
	}{[]string{"--vss.protocol", "windows"}, "-vss.protocol"})
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
