package msgio

import (
	"strings"
	"testing"
)

func TestBusyRemedy(t *testing.T) {
	got := BusyRemedy("KVP", "hv_kvp_daemon")
	for _, want := range []string{
		"another KVP daemon holds the device",
		"the base system's hv_kvp_daemon",
		"'pkill -x hv_kvp_daemon'",
		"'service hvagent start'",
		"hvagent(8), BASE SYSTEM DAEMONS",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("remedy lacks %q:\n%s", want, got)
		}
	}
}

func TestLinuxBusyRemedy(t *testing.T) {
	got := LinuxBusyRemedy("VSS")
	for _, want := range []string{
		"another VSS daemon holds the device",
		// Debian's and Ubuntu's hyperv-daemons units, started by udev.
		"'systemctl mask --now hv-kvp-daemon.service hv-vss-daemon.service'",
		// Fedora's and RHEL's.
		"'systemctl mask --now hypervkvpd.service hypervvssd.service'",
		"systemctl unmask",
		"hvagent(8)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("remedy lacks %q:\n%s", want, got)
		}
	}
	for _, freebsd := range []string{"devd", "service hvagent", "pkill"} {
		if strings.Contains(got, freebsd) {
			t.Errorf("Linux remedy names FreeBSD's %q:\n%s", freebsd, got)
		}
	}
}
