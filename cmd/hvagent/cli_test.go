package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
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
	if code != 0 {
		t.Fatalf("list --json: exit %d\n%s", code, out)
	}
	recs := decodeJSONRecords(t, out)
	keys := map[string]string{}
	for _, r := range recs {
		keys[exactString(t, r.Key, r.KeyBase64)] = exactString(t, r.Value, r.ValueBase64)
	}
	if len(recs) != 2 || keys["Role"] != "web" || len(keys["Long"]) != 1500 || recs[0].PoolName != "guest" {
		t.Fatalf("list --json = %+v", recs)
	}
}

// decodeJSONRecords decodes the output of 'kvp list --json'.
func decodeJSONRecords(t *testing.T, out string) []jsonRecord {
	t.Helper()
	var recs []jsonRecord
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return recs
}

// exactString returns the string a --json member and its _base64
// companion stand for: exactly one of them is set.
func exactString(t *testing.T, s *string, b64 string) string {
	t.Helper()
	switch {
	case s != nil && b64 == "":
		return *s
	case s == nil && b64 != "":
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		if utf8.Valid(b) {
			t.Errorf("base64 %q for valid UTF-8 %q", b64, b)
		}
		return string(b)
	}
	t.Fatalf("string %v and base64 %q: want exactly one", s, b64)
	return ""
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
		if code != exitUsage || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "hvagent: run: ") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line", args, code, errOut)
		}
	}
	_, errOut, code := hvagent(t, "run", "--help")
	if code != exitOK || !strings.Contains(errOut, "-vss.max-frozen") {
		t.Errorf("--help: exit %d, stderr %q", code, errOut)
	}
}

// TestVersionFlags: every spelling of the version request prints the
// version and exits 0.
func TestVersionFlags(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version", "-v"} {
		out, errOut, code := hvagent(t, arg)
		if code != exitOK || !strings.HasPrefix(out, "hvagent ") || !strings.Contains(out, "revision") || errOut != "" {
			t.Errorf("hvagent %s: exit %d, stdout %q, stderr %q", arg, code, out, errOut)
		}
	}
}

// TestUsageErrorsOneLine: a usage error anywhere is exit status 2 and one
// line, "hvagent: <what>: <why>; see '<help>'", and the help named works.
func TestUsageErrorsOneLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string // in the line
		help string // the hint
	}{
		{[]string{"frobnicate"}, `hvagent: unknown command "frobnicate"`, "hvagent help"},
		{[]string{"--frobnicate"}, "hvagent: run: unknown flag --frobnicate", "hvagent run --help"},
		{[]string{"kvp"}, "hvagent: kvp: missing command", "hvagent kvp --help"},
		{[]string{"kvp", "frob"}, `hvagent: kvp: unknown command "frob"`, "hvagent kvp --help"},
		{[]string{"kvp", "list", "--bogus", "--pool-dir", dir}, "hvagent: kvp list: unknown flag --bogus", "hvagent kvp list --help"},
		{[]string{"kvp", "list", "-x"}, "hvagent: kvp list: unknown flag -x", "hvagent kvp list --help"},
		{[]string{"kvp", "get", "--pool"}, "hvagent: kvp get: flag needs a value: --pool", "hvagent kvp get --help"},
		{[]string{"kvp", "get", "--pool", "guest", "--pool-dir", dir}, "hvagent: kvp get: want 1 argument(s) KEY, got 0", "hvagent kvp get --help"},
		{[]string{"kvp", "set", "--pool", "guest", "--pool-dir", dir, "k"}, "hvagent: kvp set: want 2 argument(s) KEY VALUE, got 1", "hvagent kvp set --help"},
		{[]string{"kvp", "set", "--max-records", "0", "--pool", "guest", "--pool-dir", dir, "k", "v"}, "kvp set: invalid value", "hvagent kvp set --help"},
		{[]string{"kvp", "get", "--pool-dir", dir, "k"}, "hvagent: kvp get: --pool is required", "hvagent kvp get --help"},
		{[]string{"kvp", "list", "--pool", "9", "--pool-dir", dir}, "hvagent: kvp list: ", "hvagent kvp list --help"},
		{[]string{"kvp", "delete", "--pool", "auto", "--pool-dir", dir, "k"}, "cannot be written", "hvagent kvp delete --help"},
		{[]string{"run", "--web.listen-address", "127.0.0.1:99999", "--help"}, `hvagent: run: invalid value "127.0.0.1:99999" for flag --web.listen-address: port "99999"`, "hvagent run --help"},
		{[]string{"run", "--web.listen-address", "localhost"}, "web.listen-address", "hvagent run --help"},
		{[]string{"doctor", "--web.listen-address=:http-nonesuch"}, "hvagent: doctor: invalid value", "hvagent doctor --help"},
	} {
		_, errOut, code := hvagent(t, tc.args...)
		if code != exitUsage || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "hvagent: ") ||
			!strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "; see '"+tc.help) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line with %q and the hint %q", tc.args, code, errOut, tc.want, tc.help)
		}
		if strings.Count(errOut, "kvp:") > 1 {
			t.Errorf("%q: %q says kvp: twice", tc.args, errOut)
		}
	}
	for _, args := range [][]string{{"kvp", "--help"}, {"kvp", "get", "--help"}, {"kvp", "set", "-h"}} {
		out, _, code := hvagent(t, args...)
		if code != exitOK || !strings.HasPrefix(out, "usage: hvagent kvp ") {
			t.Errorf("%q: exit %d, stdout %q", args, code, out)
		}
	}
	// Addresses that may work later are not usage errors.
	for _, addr := range []string{":9855", "[::1]:0", "localhost:http", ""} {
		if _, err := parseListenAddress(addr); err != nil {
			t.Errorf("--web.listen-address %q refused: %v", addr, err)
		}
	}
}
