//go:build (linux || freebsd) && (amd64 || arm64)

package vss

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestChildMakesOnlyRawSyscalls disassembles the code the freezer child
// runs (built as this test binary is, so with -race when the tests run
// with -race) and checks it calls nothing but raw system calls and itself: no
// runtime function, no race-detector hook, no bounds-check panic.
func TestChildMakesOnlyRawSyscalls(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not in PATH")
	}
	// go test strips its binaries; build one with symbols.
	exe := filepath.Join(t.TempDir(), "vss.test")
	args := []string{"test", "-c", "-o", exe}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	out, err := exec.Command(goTool, "tool", "objdump", "-s", `^github\.com/hvagent/hvagent/vss\.(freezerChild|child[A-Z]\w*|forkAndRun|raw[A-Z]\w*)$`, exe).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump: %v\n%s", err, out)
	}
	allowed := regexp.MustCompile(`CALL (syscall\.RawSyscall6?|github\.com/hvagent/hvagent/vss\.(freezerChild|child[A-Z]\w*|raw[A-Z]\w*))\(SB\)`)
	funcs, calls := 0, 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "TEXT ") {
			funcs++
		}
		if !strings.Contains(line, "CALL ") {
			continue
		}
		calls++
		if !allowed.MatchString(line) {
			t.Errorf("the freezer child calls outside raw syscalls:\n%s", line)
		}
	}
	if funcs < 8 || calls == 0 {
		t.Fatalf("found %d functions and %d calls; the disassembly did not cover the child:\n%s", funcs, calls, out)
	}
}
