package vss

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatDevice(t *testing.T) {
	dir := t.TempDir()
	def, alias, other := filepath.Join(dir, "hv_fsvss_dev"), filepath.Join(dir, "hv_fsfreeze_dev"), filepath.Join(dir, "x")
	if _, _, err := statDeviceOr(def, def, alias); err == nil ||
		!strings.Contains(err.Error(), "neither "+def+" nor "+alias+" exists") || strings.Contains(err.Error(), "stat "+alias) {
		t.Errorf("neither exists: %v", err)
	}
	if _, _, err := statDeviceOr(other, def, alias); err == nil || strings.Contains(err.Error(), alias) {
		t.Errorf("a path of its own: %v", err)
	}
	if err := os.WriteFile(alias, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, fi, err := statDeviceOr(def, def, alias); err != nil || got != alias || fi == nil {
		t.Errorf("alias only: %q %v", got, err)
	}
	if err := os.WriteFile(def, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _, err := statDeviceOr(def, def, alias); err != nil || got != def {
		t.Errorf("both: %q %v", got, err)
	}
}
