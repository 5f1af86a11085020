package vf

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// DefaultBaseRules is the devd configuration of the base system that
// runs hyperv_vfattach and hyperv_vfup (sbin/devd/hyperv.conf).
const DefaultBaseRules = "/etc/devd/hyperv.conf"

// BaseRulesActive reports whether the devd file at path still has an
// uncommented action running hyperv_vfattach or hyperv_vfup. A missing
// file means no.
func BaseRulesActive(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("vf: base devd rules: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#") // devd.conf(5) comments
		line, _, _ = strings.Cut(line, "//")
		if !strings.Contains(line, "action") {
			continue
		}
		if strings.Contains(line, "hyperv_vfattach") || strings.Contains(line, "hyperv_vfup") {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("vf: base devd rules %s: %w", path, err)
	}
	return false, nil
}
