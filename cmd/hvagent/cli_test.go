package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func hvagent(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(agentBin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestKVPCommands(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("é", 1100) // 1100 UTF-16 units, 2200 bytes: too long for the field
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"set", []string{"kvp", "set", "--pool", "guest", "--pool-dir", dir, "Role", "web"}, 0, "", ""},
		{"set by number, flags after operands", []string{"kvp", "set", "Tier", "gold", "--pool", "1", "--pool-dir", dir}, 0, "", ""},
		{"get", []string{"kvp", "get", "--pool", "guest", "--pool-dir", dir, "Role"}, 0, "web\n", ""},
		{"get missing", []string{"kvp", "get", "--pool", "guest", "--pool-dir", dir, "Nope"}, 1, "", "no such key"},
		{"set warns past the host's limit", []string{"kvp", "set", "--pool", "guest", "--pool-dir", dir, "Long", strings.Repeat("a", 1500)}, 0, "", "the host reads only the first 1022"},
		{"set refuses what does not fit", []string{"kvp", "set", "--pool", "guest", "--pool-dir", dir, "Huge", long}, 1, "", "value"},
		{"set auto refused", []string{"kvp", "set", "--pool", "auto", "--pool-dir", dir, "OSName", "x"}, 2, "", "cannot be written"},
		{"unknown pool", []string{"kvp", "list", "--pool", "9", "--pool-dir", dir}, 2, "", "unknown pool"},
		{"get without pool", []string{"kvp", "get", "--pool-dir", dir, "Role"}, 2, "", "--pool is required"},
		{"delete", []string{"kvp", "delete", "--pool", "guest", "--pool-dir", dir, "Tier"}, 0, "", ""},
		{"delete missing", []string{"kvp", "delete", "--pool", "guest", "--pool-dir", dir, "Tier"}, 1, "", "no such key"},
		{"list table", []string{"kvp", "list", "--pool", "guest", "--pool-dir", dir}, 0, "guest  Role", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", "unknown command"},
		{"version", []string{"version"}, 0, "hvagent ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := hvagent(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", out, tt.wantStdout)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantStderr)
			}
		})
	}
	out, _, code := hvagent(t, "kvp", "list", "--json", "--pool", "guest", "--pool-dir", dir)
	var recs []listedRecord
	if err := json.Unmarshal([]byte(out), &recs); err != nil || code != 0 {
		t.Fatalf("list --json: exit %d, %v\n%s", code, err, out)
	}
	keys := map[string]string{}
	for _, r := range recs {
		keys[r.Key] = r.Value
	}
	if len(recs) != 2 || keys["Role"] != "web" || len(keys["Long"]) != 1500 || recs[0].PoolName != "guest" {
		t.Fatalf("list --json = %+v", recs)
	}
}

// TestRunFlagErrors checks that a bad value is one line of stderr and exit
// 2, also when --help follows it, and that --help alone still lists flags.
func TestRunFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--log.level=trace"},
		{"run", "--log.level=trace", "--help"},
		{"run", "--disable=foo", "--help"},
		{"run", "--no-such-flag"},
	} {
		_, errOut, code := hvagent(t, args...)
		if code != exitUsage || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "hvagent run: ") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line", args, code, errOut)
		}
	}
	_, errOut, code := hvagent(t, "run", "--help")
	if code != exitOK || !strings.Contains(errOut, "-vss.max-frozen") {
		t.Errorf("--help: exit %d, stderr %q", code, errOut)
	}
}
