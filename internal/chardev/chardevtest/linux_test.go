//go:build unix

package chardevtest

import (
	"testing"
	"time"
)

// TestLinuxContract pins the Linux driver values the model uses.
func TestLinuxContract(t *testing.T) {
	// drivers/hv/hyperv_vmbus.h: HV_UTIL_TIMEOUT 30 (seconds), the
	// deadline of every KVP reply and of VSS THAW and HOT_BACKUP.
	if DefaultLinuxTimeout != 30*time.Second {
		t.Errorf("DefaultLinuxTimeout = %v, want 30s", DefaultLinuxTimeout)
	}
}
