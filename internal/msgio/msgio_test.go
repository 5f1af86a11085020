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
