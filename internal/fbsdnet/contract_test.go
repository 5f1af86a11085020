package fbsdnet

import "testing"

// TestContract pins the kernel facts the naming rules rest on.
func TestContract(t *testing.T) {
	// sys/net/if.h: #define IFNAMSIZ 16, the NUL included.
	if NameMax != 16-1 {
		t.Errorf("NameMax = %d, want IFNAMSIZ-1 = 15", NameMax)
	}
}
