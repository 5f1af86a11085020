//go:build (linux || freebsd) && (amd64 || arm64)

package vss

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestChildMakesOnlyRawSyscalls disassembles the code the freezer child
// runs and checks it calls nothing but raw system calls and itself: no
// runtime function, no race-detector hook, no bounds-check panic. It
// checks this platform's build (with -race when the tests run with it)
// and the FreeBSD and Linux builds for amd64 and arm64.
func TestChildMakesOnlyRawSyscalls(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not in PATH")
	}
	type target struct{ goos, goarch string }
	targets := []target{{runtime.GOOS, runtime.GOARCH}}
	if !testing.Short() {
		targets = append(targets, target{"freebsd", "amd64"}, target{"freebsd", "arm64"}, target{"linux", "arm64"}, target{"linux", "amd64"})
	}
	for i, tg := range targets {
		if i > 0 && tg == targets[0] {
			continue
		}
		t.Run(tg.goos+"/"+tg.goarch, func(t *testing.T) {
			// go test strips its binaries; build one with symbols.
			exe := filepath.Join(t.TempDir(), "vss.test")
			args := []string{"test", "-c", "-o", exe}
			if i == 0 && raceEnabled {
				args = append(args, "-race")
			}
			cmd := exec.Command(goTool, append(args, ".")...)
			cmd.Env = append(os.Environ(), "GOOS="+tg.goos, "GOARCH="+tg.goarch, "CGO_ENABLED="+map[bool]string{true: "1", false: "0"}[i == 0 && raceEnabled])
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go test -c: %v\n%s", err, out)
			}
			checkChildCalls(t, goTool, exe)
		})
	}
}

func checkChildCalls(t *testing.T, goTool, exe string) {
	t.Helper()
	out, err := exec.Command(goTool, "tool", "objdump", "-s", `^github\.com/hvagent/hvagent/vss\.(freezerChild|child[A-Z]\w*|forkAndRun|raw[A-Z]\w*)$`, exe).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump: %v\n%s", err, out)
	}
	allowed := regexp.MustCompile(`CALL (syscall\.RawSyscall6?(\.abi0)?|github\.com/hvagent/hvagent/vss\.(freezerChild|child[A-Z]\w*|raw[A-Z]\w*))\(SB\)`)
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
	if funcs < 6 || calls == 0 {
		t.Fatalf("found %d functions and %d calls; the disassembly did not cover the child:\n%s", funcs, calls, out)
	}
}
