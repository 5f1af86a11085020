package vf

import (
	"slices"
	"testing"
)

// TestRCConfSync pins network.subr's syncdhcpif (libexec/rc/network.subr):
// it walks the words of ifconfig_IF and returns at the first NOSYNCDHCP
// (asynchronous) or SYNCDHCP (synchronous), in any case; only when
// neither appears does synchronous_dhclient decide.
func TestRCConfSync(t *testing.T) {
	tests := []struct {
		ifconfig string
		syncVar  bool // synchronous_dhclient
		want     bool
	}{
		{"DHCP", false, false},
		{"DHCP", true, true},
		{"SYNCDHCP", false, true},
		{"NOSYNCDHCP", true, false},
		{"syncdhcp", false, true},
		{"NoSyncDhcp", true, false},
		// The first keyword decides, whatever follows it.
		{"SYNCDHCP NOSYNCDHCP", false, true},
		{"NOSYNCDHCP SYNCDHCP", true, false},
		{"up SYNCDHCP mtu 4000 NOSYNCDHCP", false, true},
		{"DHCP NOSYNCDHCP SYNCDHCP", true, false},
		// Words are compared whole.
		{"SYNCDHCPX", false, false},
		{"XNOSYNCDHCP", true, true},
		// No keyword: synchronous_dhclient, even without DHCP.
		{"inet 10.0.0.4/24", true, true},
		{"", false, false},
	}
	for _, tt := range tests {
		rc := RCConf{Ifconfig: tt.ifconfig, SynchronousDHCP: tt.syncVar}
		if got := rc.Sync(); got != tt.want {
			t.Errorf("ifconfig %q, synchronous_dhclient %v: Sync() = %v, want %v", tt.ifconfig, tt.syncVar, got, tt.want)
		}
	}
}

// TestRCConfArgsVnet pins ifconfig_getargs's "vnet JAIL" handling
// (libexec/rc/network.subr): both words are dropped, and only the
// lower-case keyword counts.
func TestRCConfArgsVnet(t *testing.T) {
	tests := []struct {
		ifconfig string
		want     []string
	}{
		{"vnet web inet 10.0.0.4/24", []string{"inet", "10.0.0.4/24"}},
		{"inet 10.0.0.4/24 vnet web", []string{"inet", "10.0.0.4/24"}},
		{"VNET web up", []string{"VNET", "web", "up"}},
		{"vnet DHCP up", []string{"up"}}, // the jail's name, not the keyword
	}
	for _, tt := range tests {
		if got := (RCConf{Ifconfig: tt.ifconfig}).Args(); !slices.Equal(got, tt.want) {
			t.Errorf("Args(%q) = %q, want %q", tt.ifconfig, got, tt.want)
		}
	}
}
