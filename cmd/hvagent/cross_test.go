package main

import (
	"os"
	"os/exec"
	"testing"
)

// The agent must build and vet for FreeBSD from Linux, with its tests
// compiled too (go vet type-checks test files), on both architectures.
func TestCrossBuildFreeBSD(t *testing.T) {
	if testing.Short() {
		t.Skip("cross builds take a while; skipped with -short")
	}
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			env := append(os.Environ(), "GOOS=freebsd", "GOARCH="+arch, "CGO_ENABLED=0")
			for _, args := range [][]string{
				{"build", "-o", os.DevNull, "."},
				{"vet", "github.com/hvagent/hvagent/..."},
			} {
				cmd := exec.Command("go", args...)
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("GOOS=freebsd GOARCH=%s go %v: %v\n%s", arch, args, err, out)
				}
			}
		})
	}
}
