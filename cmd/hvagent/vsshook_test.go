package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVSSHookSample runs the example VSS hook the package installs with
// each argument the agent passes (hvagent(8), VSS BACKUPS, Hooks) and a
// wrong one. psql is
// replaced by a fake on PATH that records its call, and su by one that
// runs its -c command, so nothing here touches a database.
func TestVSSHookSample(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	log := filepath.Join(dir, "calls")
	writeFile(t, filepath.Join(bin, "psql"), "#!/bin/sh\necho \"psql $*\" >> \""+log+"\"\n", 0o755)
	// su -m USER -c CMD
	writeFile(t, filepath.Join(bin, "su"), "#!/bin/sh\necho \"su $1 $2\" >> \""+log+"\"\nsh -c \"$4\"\n", 0o755)
	tests := []struct {
		arg, wantCalls string
		wantCode       int
	}{
		{"freeze", "su -m postgres\npsql -X -q -d postgres -c CHECKPOINT\n", 0},
		{"thaw", "", 0},
		{"freeze-fail", "", 0},
		{"bogus", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			writeFile(t, log, "", 0o644)
			cmd := exec.Command("sh", vssHookSample, tt.arg)
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
			out, err := cmd.CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			if calls := readString(t, log); calls != tt.wantCalls {
				t.Errorf("calls:\n%s\nwant:\n%s", calls, tt.wantCalls)
			}
		})
	}
	t.Run("without psql", func(t *testing.T) {
		// Only shell builtins run before the hook finds no psql.
		cmd := exec.Command("sh", vssHookSample, "freeze")
		cmd.Env = []string{"PATH=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "psql not found") {
			t.Errorf("freeze without psql: %v, %q; want success and a note", err, out)
		}
	})
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
